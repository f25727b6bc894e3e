package flv

import "fmt"

// Video frame types (upper nibble of the first video tag byte).
const (
	FrameKey        uint8 = 1
	FrameInter      uint8 = 2
	FrameDisposable uint8 = 3
	FrameGenerated  uint8 = 4
	FrameCommand    uint8 = 5 // video info/command frame: one byte, no picture
)

// CodecAVC is the FLV CodecID of H.264.
const CodecAVC uint8 = 7

// AVCPacketType values.
const (
	AVCSequenceHeader uint8 = 0 // Data is an AVCDecoderConfigurationRecord
	AVCNALU           uint8 = 1 // Data is AVCC length-prefixed NAL units
	AVCEndOfSequence  uint8 = 2 // Data is empty
)

// VideoTag is a parsed H.264 video tag body.
type VideoTag struct {
	FrameType     uint8
	CodecID       uint8 // always CodecAVC after a successful parse
	AVCPacketType uint8
	// CompositionTime is PTS-DTS in milliseconds (signed 24 bit).
	CompositionTime int32
	// Data aliases the parsed buffer: the record, the NAL units, or for a
	// FrameCommand tag the command byte.
	Data []byte
}

// Keyframe reports whether the tag starts a decodable picture sequence.
func (v VideoTag) Keyframe() bool { return v.FrameType == FrameKey }

// ParseVideoTag parses an FLV video tag body. Codecs other than H.264, and
// the Enhanced-RTMP extended header (HEVC/AV1 via FourCC), are refused with
// ErrUnsupportedCodec so the caller can drop them deliberately.
func ParseVideoTag(b []byte) (VideoTag, error) {
	if len(b) < 1 {
		return VideoTag{}, fmt.Errorf("%w: empty video tag", ErrShortBody)
	}
	if b[0]&0x80 != 0 {
		return VideoTag{}, fmt.Errorf("%w: enhanced RTMP video header", ErrUnsupportedCodec)
	}
	v := VideoTag{FrameType: b[0] >> 4, CodecID: b[0] & 0x0f}
	if v.CodecID != CodecAVC {
		return VideoTag{}, fmt.Errorf("%w: video codec id %d", ErrUnsupportedCodec, v.CodecID)
	}
	if v.FrameType == FrameCommand {
		v.Data = b[1:]
		return v, nil
	}
	if len(b) < 5 {
		return VideoTag{}, fmt.Errorf("%w: AVC video tag of %d bytes", ErrShortBody, len(b))
	}
	v.AVCPacketType = b[1]
	if v.AVCPacketType > AVCEndOfSequence {
		return VideoTag{}, fmt.Errorf("%w: AVCPacketType %d", ErrBadTag, v.AVCPacketType)
	}
	// Sign-extend the 24-bit composition time: B-frames make it positive,
	// some encoders emit small negative values.
	ct := int32(b[2])<<16 | int32(b[3])<<8 | int32(b[4])
	v.CompositionTime = ct << 8 >> 8
	v.Data = b[5:]
	return v, nil
}

// AppendVideoTag appends the body of an H.264 video tag. CodecID is ignored
// (always AVC); CompositionTime is truncated to 24 bits.
func AppendVideoTag(dst []byte, v VideoTag) []byte {
	if v.FrameType == FrameCommand {
		dst = append(dst, v.FrameType<<4|CodecAVC)
		return append(dst, v.Data...)
	}
	ct := uint32(v.CompositionTime)
	dst = append(dst, v.FrameType<<4|CodecAVC, v.AVCPacketType, byte(ct>>16), byte(ct>>8), byte(ct))
	return append(dst, v.Data...)
}
