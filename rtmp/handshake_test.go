package rtmp

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// clientHandshakeC1 builds a C1 with a digest at schema base (used by tests
// to play the client side the way ffmpeg does).
func clientHandshakeC1(base int) []byte {
	c1 := make([]byte, handshakeSize)
	rand.Read(c1[8:])
	copy(c1[4:8], []byte{9, 0, 124, 2})
	off := digestOffset(c1, base)
	copy(c1[off:], packetDigest(c1, off, clientKeyOpen))
	return c1
}

// verifyServerHandshake checks S1 and S2 the way ffmpeg's player does.
func verifyServerHandshake(c1, s1, s2 []byte) error {
	coff, _, ok := findClientDigest(c1)
	if !ok {
		return fmt.Errorf("C1 has no digest")
	}
	found := false
	for _, base := range digestSchemas {
		off := digestOffset(s1, base)
		if hmac.Equal(s1[off:off+digestSize], packetDigest(s1, off, serverKeyOpen)) {
			found = true
		}
	}
	if !found {
		return fmt.Errorf("S1 digest not found")
	}
	km := hmac.New(sha256.New, serverKeyFull)
	km.Write(c1[coff : coff+digestSize])
	sm := hmac.New(sha256.New, km.Sum(nil))
	sm.Write(s2[:handshakeSize-digestSize])
	if !bytes.Equal(sm.Sum(nil), s2[handshakeSize-digestSize:]) {
		return fmt.Errorf("S2 signature mismatch")
	}
	return nil
}

// handshakeOverPipe runs serverHandshake against a client that sends c1.
func handshakeOverPipe(t *testing.T, c1 []byte) (s1, s2 []byte, complex bool) {
	t.Helper()
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	type result struct {
		complex bool
		err     error
	}
	done := make(chan result, 1)
	go func() {
		c, err := serverHandshake(server, server, time.Second, time.Time{})
		done <- result{c, err}
	}()
	go func() {
		client.Write(append([]byte{3}, c1...))
	}()
	s := make([]byte, 1+2*handshakeSize)
	if _, err := io.ReadFull(client, s); err != nil {
		t.Fatal(err)
	}
	if s[0] != 3 {
		t.Fatalf("S0 = %d", s[0])
	}
	if _, err := client.Write(s[1 : 1+handshakeSize]); err != nil { // C2 echoes S1
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	return s[1 : 1+handshakeSize], s[1+handshakeSize:], r.complex
}

func TestHandshakeDigestSchemas(t *testing.T) {
	for _, base := range digestSchemas {
		t.Run(fmt.Sprintf("schema base %d", base), func(t *testing.T) {
			c1 := clientHandshakeC1(base)
			s1, s2, complex := handshakeOverPipe(t, c1)
			if !complex {
				t.Fatal("digest in C1 not detected")
			}
			if s1[4] < 3 {
				t.Fatalf("S1 version %v: ffmpeg would skip verification", s1[4:8])
			}
			if err := verifyServerHandshake(c1, s1, s2); err != nil {
				t.Fatalf("ffmpeg would refuse our answer: %v", err)
			}
		})
	}
}

func TestHandshakePlainEcho(t *testing.T) {
	c1 := make([]byte, handshakeSize)
	rand.Read(c1[8:]) // zero version: plain by definition
	s1, s2, complex := handshakeOverPipe(t, c1)
	if complex || !bytes.Equal(s2, c1) || !bytes.Equal(s1[4:8], []byte{0, 0, 0, 0}) {
		t.Fatalf("plain handshake: complex=%v, S2 echoes C1=%v, S1 version %v", complex, bytes.Equal(s2, c1), s1[4:8])
	}
}

func TestHandshakeNonZeroVersionWithoutDigestFallsBack(t *testing.T) {
	c1 := make([]byte, handshakeSize)
	rand.Read(c1)
	c1[4] = 9
	_, s2, complex := handshakeOverPipe(t, c1)
	if complex || !bytes.Equal(s2, c1) {
		t.Fatalf("complex=%v; want plain echo", complex)
	}
}

func TestHandshakeRefusesBadInput(t *testing.T) {
	for name, in := range map[string][]byte{
		"RTMPE version 6":  append([]byte{6}, make([]byte, handshakeSize)...),
		"truncated C1":     {3, 0, 0, 0},
		"HTTP, not RTMP":   []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"nothing at all":   nil,
		"C0+C1 but no C2:": append([]byte{3}, make([]byte, handshakeSize)...),
	} {
		t.Run(name, func(t *testing.T) {
			client, server := net.Pipe()
			defer server.Close()
			go func() {
				client.Write(in)
				io.Copy(io.Discard, client) // take S0..S2, then stall until closed
			}()
			_, err := serverHandshake(server, bufio.NewReader(server), 100*time.Millisecond, time.Time{})
			if !errors.Is(err, ErrHandshake) {
				t.Fatalf("err = %v, want ErrHandshake", err)
			}
			client.Close()
		})
	}
}
