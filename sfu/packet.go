package sfu

import (
	"encoding/binary"
	"errors"
)

// MaxPacketSize is the largest RTP packet we accept: an Ethernet MTU.
// Browsers and pion keep RTP at about 1200 bytes.
const MaxPacketSize = 1500

var (
	errShortPacket = errors.New("rtp: packet too short")
	errVersion     = errors.New("rtp: not version 2")
	errPadding     = errors.New("rtp: bad padding")
)

// Packet is one received RTP packet. Its storage belongs to the track's
// packet cache: sinks read it during WriteRTP and must copy whatever they
// keep. The header fields are parsed once and shared by every sink.
type Packet struct {
	buf [MaxPacketSize]byte
	n   int

	SequenceNumber uint16
	Timestamp      uint32
	SSRC           uint32
	PayloadType    uint8
	Marker         bool
	// Keyframe is set on every packet of a video keyframe's first frame
	// fragment that lets a decoder start (H.264 IDR/SPS, VP8 key frame).
	Keyframe bool
	// Arrival is when the packet was read, in nanoseconds of the monotonic
	// clock (see now()).
	Arrival int64

	payloadStart, payloadEnd int
	paddingSize              byte
	// out, while a socket reader delivers the packet, is its outbox
	// (only the delivering goroutine reads it).
	out *outbox
}

// SeqNewer reports whether RTP sequence number a comes after b in 16-bit
// sequence space (less than half the space ahead, so across a wrap too).
func SeqNewer(a, b uint16) bool { return a != b && a-b < 0x8000 }

// Buffer is the storage a source reads a packet into.
func (p *Packet) Buffer() []byte { return p.buf[:] }

// Bytes is the packet as received.
func (p *Packet) Bytes() []byte { return p.buf[:p.n] }

// Payload is the RTP payload without header, extensions and padding.
func (p *Packet) Payload() []byte { return p.buf[p.payloadStart:p.payloadEnd] }

// PaddingSize is the number of padding bytes the packet carried.
func (p *Packet) PaddingSize() byte { return p.paddingSize }

// parse reads the header of the n bytes in the buffer. It never allocates.
func (p *Packet) parse(n int) error {
	if n < 12 || n > len(p.buf) {
		return errShortPacket
	}
	b := p.buf[:n]
	if b[0]>>6 != 2 {
		return errVersion
	}
	p.n = n
	p.Marker = b[1]&0x80 != 0
	p.PayloadType = b[1] & 0x7f
	p.SequenceNumber = binary.BigEndian.Uint16(b[2:])
	p.Timestamp = binary.BigEndian.Uint32(b[4:])
	p.SSRC = binary.BigEndian.Uint32(b[8:])
	start := 12 + 4*int(b[0]&0x0f) // CSRCs
	if b[0]&0x10 != 0 {            // header extension: 4-byte header + length words
		if start+4 > n {
			return errShortPacket
		}
		start += 4 + 4*int(binary.BigEndian.Uint16(b[start+2:]))
	}
	end := n
	p.paddingSize = 0
	if b[0]&0x20 != 0 {
		p.paddingSize = b[n-1]
		end -= int(p.paddingSize)
		if p.paddingSize == 0 {
			return errPadding
		}
	}
	if start > end {
		return errShortPacket
	}
	p.payloadStart, p.payloadEnd = start, end
	p.Keyframe = false
	return nil
}
