package cluster

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/quic-go/quic-go"
)

// Keys for the media path (media_out.go, media_in.go): each direction of a
// relay connection has its own secret, exported from the connection's TLS
// 1.3 session (RFC 8446 §7.5), which both nodes authenticated with
// certificates from the cluster CA. Nobody without the session has it; a
// new connection has a new one. The AES-GCM key of each epoch of
// mediaEpoch datagrams is derived from the secret.

// mediaKeyLabel is the exporter label of the media keys.
const mediaKeyLabel = "EXPORTER-trtcd-relay-media"

// mediaEpochBits sets how many datagrams one AES-GCM key seals: 2²⁴,
// within TLS 1.3's limit for AES-GCM (2^24.5 full-size records, RFC 8446
// §5.5); the next epoch's key is derived then. At 12 rooms' relayed media
// (about 2,500 datagrams a second) an epoch lasts about two hours.
const mediaEpochBits = 24

// A sealed media datagram is
//
//	0x2a | key id (4) | counter (8, big-endian) | AES-128-GCM ciphertext | tag (16)
//
// with the header as additional data, the nonce the direction's 4-byte
// salt followed by the counter, and the key the one of the counter's epoch
// (counter >> mediaEpochBits). Its first byte has QUIC's fixed bit (0x40)
// and long-header bit (0x80) clear, so it never passes for a QUIC packet
// on the shared socket (RFC 9000 §17; quic-go's own test for "not QUIC").
// The plaintext is one or more records: a 4-byte stream id (the track, as
// for QUIC datagrams), a 2-byte length and an RTP packet.
const (
	mediaMagic     = 0x2a
	mediaHeader    = 1 + 4 + 8
	mediaTag       = 16
	mediaRecordHdr = 4 + 2
	// mediaDatagramMax bounds a sealed datagram: a 1500-byte Ethernet MTU
	// less the IPv4 and UDP headers leaves 1472 bytes; 1400 leaves room
	// for a tunnel's headers on the way, as QUIC's own 1200–1452 does.
	mediaDatagramMax = 1400
	// mediaPacketMax is the largest RTP packet that goes sealed; a larger
	// one goes on the control stream, as a packet too large for a QUIC
	// datagram does.
	mediaPacketMax = mediaDatagramMax - mediaHeader - mediaTag - mediaRecordHdr
)

// isMedia reports whether a datagram on the relay socket is sealed media
// rather than QUIC.
func isMedia(b []byte) bool { return len(b) > 0 && b[0] == mediaMagic }

// mediaKey seals or opens one direction's datagrams; one goroutine uses
// it (the connection's writer, or the socket's reader).
type mediaKey struct {
	id     uint32 // names the key in the header: which connection and direction
	secret []byte // exported; the epochs' keys are derived from it
	epoch  uint64 // aead's: the newest epoch sealed, or opened genuine
	aead   cipher.AEAD
	nonce  [12]byte // the salt, then the counter being used: no allocation per datagram
}

var errNoExporter = errors.New("cluster: the relay connection exports no keys")

// mediaKeyFor exports the key of the direction from node to node on c.
// The context names both ends: the two directions get different keys,
// whichever node dialed.
func mediaKeyFor(c *quic.Conn, from, to string) (*mediaKey, error) {
	tls := c.ConnectionState().TLS
	if !tls.HandshakeComplete {
		return nil, errNoExporter
	}
	m, err := tls.ExportKeyingMaterial(mediaKeyLabel, []byte("from "+from+" to "+to), mediaKeyMaterial)
	if err != nil {
		return nil, fmt.Errorf("cluster: export media keys: %w", err)
	}
	return newMediaKey(m), nil
}

// mediaKeyMaterial is what a direction exports: a 32-byte secret, the
// 4-byte salt and the 4-byte key id.
const mediaKeyMaterial = 32 + 4 + 4

// newMediaKey makes a key of mediaKeyMaterial exported bytes.
func newMediaKey(m []byte) *mediaKey {
	k := &mediaKey{id: binary.BigEndian.Uint32(m[36:40]), secret: m[:32]}
	copy(k.nonce[:4], m[32:36])
	k.aead = k.derive(0)
	return k
}

// derive is the AES-128-GCM of an epoch.
func (k *mediaKey) derive(epoch uint64) cipher.AEAD {
	key, err := hkdf.Expand(sha256.New, k.secret, "trtcd relay media epoch "+strconv.FormatUint(epoch, 10), 16)
	if err != nil {
		panic(err) // cannot fail: 16 bytes of SHA-256 output
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // cannot fail: a 16-byte key
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err) // cannot fail: AES's block size
	}
	return aead
}

// nonceFor is the nonce of a datagram's counter: the salt, then the
// counter, so no two datagrams of a direction share one.
func (k *mediaKey) nonceFor(counter uint64) []byte {
	binary.BigEndian.PutUint64(k.nonce[4:], counter)
	return k.nonce[:]
}

// seal encrypts in place the plaintext that follows b's header, writes the
// header, and returns the datagram (b's backing array must have room for
// the tag).
func (k *mediaKey) seal(b []byte, counter uint64) []byte {
	b[0] = mediaMagic
	binary.BigEndian.PutUint32(b[1:], k.id)
	binary.BigEndian.PutUint64(b[5:], counter)
	if epoch := counter >> mediaEpochBits; epoch != k.epoch {
		k.aead, k.epoch = k.derive(epoch), epoch
	}
	plain := b[mediaHeader:]
	return b[:mediaHeader+len(k.aead.Seal(plain[:0], k.nonceFor(counter), plain, b[:mediaHeader]))]
}

// mediaKeyID and mediaCounter read a sealed datagram's header (isMedia and
// at least mediaHeader+mediaTag bytes).
func mediaKeyID(b []byte) uint32   { return binary.BigEndian.Uint32(b[1:]) }
func mediaCounter(b []byte) uint64 { return binary.BigEndian.Uint64(b[5:]) }

// open decrypts b in place and returns its records, or false when the tag
// does not match: not sealed with this key, or changed on the way. A
// datagram of another epoch than the newest one seen gets its key derived
// for it; only a genuine datagram of a newer epoch moves k on, so forged
// ones cannot make genuine ones pay for a derivation.
func (k *mediaKey) open(b []byte) ([]byte, bool) {
	counter := mediaCounter(b)
	aead, epoch := k.aead, counter>>mediaEpochBits
	if epoch != k.epoch {
		aead = k.derive(epoch)
	}
	plain, err := aead.Open(b[mediaHeader:mediaHeader], k.nonceFor(counter), b[mediaHeader:], b[:mediaHeader])
	if err != nil {
		return nil, false
	}
	if epoch > k.epoch {
		k.aead, k.epoch = aead, epoch
	}
	return plain, true
}

// putRecordHeader writes a record's stream id and packet length.
func putRecordHeader(b []byte, id uint32, size int) {
	binary.BigEndian.PutUint32(b, id)
	binary.BigEndian.PutUint16(b[4:], uint16(size))
}
