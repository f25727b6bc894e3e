// Package flv reads and writes FLV files and the FLV tag bodies that RTMP
// carries (H.264 video, AAC audio, AMF0 script data).
//
// RTMP audio/video/data message payloads are exactly FLV tag bodies, so the
// same helpers serve the RTMP server (ingest) and HTTP-FLV (output).
package flv

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Tag types, as in the FLV TagType field and the RTMP message type id.
const (
	TagAudio  uint8 = 8
	TagVideo  uint8 = 9
	TagScript uint8 = 18
)

// Tag is one FLV tag: a media or script-data message with its timestamp.
type Tag struct {
	Type      uint8  // TagAudio, TagVideo or TagScript
	Timestamp uint32 // milliseconds; FLV keeps 32 bits (24 + 8 extension)
	Data      []byte // tag body (for RTMP: the message payload)
}

const (
	headerSize    = 9  // "FLV", version, flags, data offset
	tagHeaderSize = 11 // type, size(3), timestamp(3+1), stream id(3)
	// maxTagData is what the 24-bit DataSize field can express.
	maxTagData = 1<<24 - 1
)

// Header flags of the FLV file header.
const (
	flagVideo = 0x01
	flagAudio = 0x04
)

// WriteHeader writes the 9-byte FLV file header followed by the first
// PreviousTagSize (always 0), i.e. everything before the first tag.
func WriteHeader(w io.Writer, hasAudio, hasVideo bool) error {
	b := [headerSize + 4]byte{'F', 'L', 'V', 1, 0, 0, 0, 0, headerSize}
	if hasAudio {
		b[4] |= flagAudio
	}
	if hasVideo {
		b[4] |= flagVideo
	}
	_, err := w.Write(b[:])
	return err
}

// ReadHeader reads the FLV file header and the first PreviousTagSize and
// reports the audio/video flags. Players must not trust the flags (many
// muxers set both), they only inform.
func ReadHeader(r io.Reader) (hasAudio, hasVideo bool, err error) {
	var b [headerSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return false, false, fmt.Errorf("%w: %w", ErrBadHeader, err)
	}
	if b[0] != 'F' || b[1] != 'L' || b[2] != 'V' || b[3] != 1 {
		return false, false, fmt.Errorf("%w: signature % x", ErrBadHeader, b[:4])
	}
	offset := binary.BigEndian.Uint32(b[5:9])
	// The data offset is 9 in version 1; tolerate a larger one (reserved for
	// future header fields) but not an absurd one.
	if offset < headerSize || offset > 1<<16 {
		return false, false, fmt.Errorf("%w: data offset %d", ErrBadHeader, offset)
	}
	if _, err := io.CopyN(io.Discard, r, int64(offset-headerSize)+4); err != nil {
		return false, false, fmt.Errorf("%w: %w", ErrBadHeader, err)
	}
	return b[4]&flagAudio != 0, b[4]&flagVideo != 0, nil
}

// AppendTag appends t in FLV form (11-byte header, body, PreviousTagSize) to
// dst. It does not allocate when dst has room, which keeps HTTP-FLV fan-out
// allocation-free.
func AppendTag(dst []byte, t Tag) ([]byte, error) {
	if len(t.Data) > maxTagData {
		return dst, fmt.Errorf("%w: %d bytes", ErrTagTooLarge, len(t.Data))
	}
	n := len(t.Data)
	dst = append(dst, t.Type, byte(n>>16), byte(n>>8), byte(n),
		byte(t.Timestamp>>16), byte(t.Timestamp>>8), byte(t.Timestamp), byte(t.Timestamp>>24),
		0, 0, 0)
	dst = append(dst, t.Data...)
	return binary.BigEndian.AppendUint32(dst, uint32(tagHeaderSize+n)), nil
}

// WriteTag writes t with its PreviousTagSize in a single Write call, so an
// HTTP response never carries half a tag in one chunk.
func WriteTag(w io.Writer, t Tag) error {
	b, err := AppendTag(make([]byte, 0, tagHeaderSize+len(t.Data)+4), t)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// ReadTag reads one tag and the PreviousTagSize after it. Tags whose body is
// larger than maxSize are refused before anything is allocated. io.EOF is
// returned unwrapped only at a clean tag boundary.
func ReadTag(r io.Reader, maxSize int) (Tag, error) {
	var h [tagHeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if err == io.EOF {
			return Tag{}, io.EOF
		}
		return Tag{}, fmt.Errorf("%w: header: %w", ErrBadTag, err)
	}
	typ := h[0]
	if typ&0x20 != 0 {
		return Tag{}, fmt.Errorf("%w: encrypted tags are not supported", ErrBadTag)
	}
	typ &= 0x1f // the top bits are reserved
	if typ != TagAudio && typ != TagVideo && typ != TagScript {
		return Tag{}, fmt.Errorf("%w: type %d", ErrBadTag, typ)
	}
	size := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	if size > maxSize {
		return Tag{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTagTooLarge, size, maxSize)
	}
	ts := uint32(h[7])<<24 | uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6])
	if h[8]|h[9]|h[10] != 0 {
		return Tag{}, fmt.Errorf("%w: stream id not 0", ErrBadTag)
	}
	data := make([]byte, size+4)
	if _, err := io.ReadFull(r, data); err != nil {
		return Tag{}, fmt.Errorf("%w: body of %d bytes: %w", ErrBadTag, size, err)
	}
	if prev := binary.BigEndian.Uint32(data[size:]); prev != uint32(tagHeaderSize+size) {
		return Tag{}, fmt.Errorf("%w: PreviousTagSize %d, want %d", ErrBadTag, prev, tagHeaderSize+size)
	}
	return Tag{Type: typ, Timestamp: ts, Data: data[:size:size]}, nil
}
