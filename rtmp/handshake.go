package rtmp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
)

// The handshake is C0+C1 → S0+S1+S2 → C2. Flash Player 9+ and ffmpeg put an
// HMAC-SHA256 digest in C1 ("complex" handshake) and, when playing, verify
// ours in S1 and S2, so a server that only echoes cannot serve ffmpeg -i.

const (
	handshakeSize = 1536
	rtmpVersion   = 3
	digestSize    = sha256.Size
)

var (
	// The 32-byte constant both keys end with (librtmp/ffmpeg: rtmp_player_key, rtmp_server_key).
	keyTail = []byte{
		0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1,
		0x02, 0x9e, 0x7e, 0x57, 0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab,
		0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
	}
	clientKeyOpen = []byte("Genuine Adobe Flash Player 001")
	serverKeyOpen = []byte("Genuine Adobe Flash Media Server 001")
	serverKeyFull = append(append([]byte{}, serverKeyOpen...), keyTail...)
)

// serverVersion is what we announce in S1; a major >= 3 tells ffmpeg our S1
// and S2 carry digests it can verify (it checks S1[4] >= 3).
var serverVersion = [4]byte{4, 5, 0, 1}

// digestSchemas are the two places a digest may sit in a 1536-byte packet:
// the offset is the sum of 4 bytes at base, mod 728, plus base+4.
// Schema 0 (base 8) is what ffmpeg and Flash use unencrypted; schema 1
// (base 772) is used by RTMPE clients and some hardware encoders.
var digestSchemas = [2]int{8, 772}

func digestOffset(p []byte, base int) int {
	return (int(p[base])+int(p[base+1])+int(p[base+2])+int(p[base+3]))%728 + base + 4
}

// packetDigest computes the HMAC of p with the 32 digest bytes at off left out.
func packetDigest(p []byte, off int, key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(p[:off])
	m.Write(p[off+digestSize:])
	return m.Sum(nil)
}

// findClientDigest returns the digest offset and schema base, or ok=false
// when C1 carries no valid digest (a plain handshake).
func findClientDigest(c1 []byte) (off, base int, ok bool) {
	for _, base := range digestSchemas {
		off := digestOffset(c1, base)
		if hmac.Equal(c1[off:off+digestSize], packetDigest(c1, off, clientKeyOpen)) {
			return off, base, true
		}
	}
	return 0, 0, false
}

// serverHandshake runs the server side. Each read and write gets its own
// deadline, timeout from its start but never past notAfter (the login
// deadline; zero for none), so a client that stalls or trickles is dropped.
// It reports whether the digest variant was used.
func serverHandshake(conn net.Conn, r io.Reader, timeout time.Duration, notAfter time.Time) (complex bool, err error) {
	c0c1 := make([]byte, 1+handshakeSize)
	if err := readFullDeadline(conn, r, c0c1, deadline(timeout, notAfter)); err != nil {
		return false, fmt.Errorf("%w: C0+C1: %w", ErrHandshake, err)
	}
	if c0c1[0] != rtmpVersion {
		// 6 and 8 are RTMPE; anything else is not RTMP at all.
		return false, fmt.Errorf("%w: version %d", ErrHandshake, c0c1[0])
	}
	c1 := c0c1[1:]

	s := make([]byte, 1+2*handshakeSize)
	s[0] = rtmpVersion
	s1, s2 := s[1:1+handshakeSize], s[1+handshakeSize:]
	if _, err := rand.Read(s1[8:]); err != nil {
		return false, err
	}
	binary.BigEndian.PutUint32(s1[0:4], uint32(time.Now().UnixMilli()))

	off, base, ok := 0, 0, false
	if binary.BigEndian.Uint32(c1[4:8]) != 0 { // a zero version means "plain" by definition
		off, base, ok = findClientDigest(c1)
	}
	if !ok {
		// Plain handshake: S1 has a zero version, S2 echoes C1.
		copy(s2, c1)
	} else {
		copy(s1[4:8], serverVersion[:])
		soff := digestOffset(s1, base)
		copy(s1[soff:], packetDigest(s1, soff, serverKeyOpen))

		// S2: random bytes whose last 32 are signed with a key derived from
		// the client's digest, proving we saw C1.
		if _, err := rand.Read(s2); err != nil {
			return false, err
		}
		km := hmac.New(sha256.New, serverKeyFull)
		km.Write(c1[off : off+digestSize])
		sm := hmac.New(sha256.New, km.Sum(nil))
		sm.Write(s2[:handshakeSize-digestSize])
		copy(s2[handshakeSize-digestSize:], sm.Sum(nil))
	}

	if err := conn.SetWriteDeadline(deadline(timeout, notAfter)); err != nil {
		return false, err
	}
	if _, err := conn.Write(s); err != nil {
		return false, fmt.Errorf("%w: S0+S1+S2: %w", ErrHandshake, err)
	}
	// C2 should echo S1 (plain) or be signed (complex), but Flash, ffmpeg
	// and OBS disagree about what they put there; every server in use
	// ignores it, and so do we.
	c2 := c0c1[1:]
	if err := readFullDeadline(conn, r, c2, deadline(timeout, notAfter)); err != nil {
		return false, fmt.Errorf("%w: C2: %w", ErrHandshake, err)
	}
	return ok, nil
}

// deadline is timeout from now, or notAfter when that is sooner.
func deadline(timeout time.Duration, notAfter time.Time) time.Time {
	d := time.Now().Add(timeout)
	if !notAfter.IsZero() && notAfter.Before(d) {
		return notAfter
	}
	return d
}

func readFullDeadline(conn net.Conn, r io.Reader, b []byte, deadline time.Time) error {
	if err := conn.SetReadDeadline(deadline); err != nil {
		return err
	}
	_, err := io.ReadFull(r, b)
	return err
}
