package rtmp

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

const (
	defaultChunkSize = 128 // until the peer sends Set Chunk Size
	// maxChunkSize is the largest Set Chunk Size accepted: the spec allows
	// 31 bits, but no message can exceed the 24-bit length field, so any
	// larger chunk size behaves like 0xffffff and is clamped to it.
	maxChunkSizeField = 0x7fffffff
	maxMessageLength  = 0xffffff
	extendedTimestamp = 0xffffff
	// firstAlloc caps the buffer allocated when a message starts: the buffer
	// grows as bytes really arrive, so a peer that announces 4 MiB messages
	// on many chunk streams and sends nothing costs little.
	firstAlloc = 64 << 10
)

// chunkStream is the header state of one chunk stream id: later chunks
// with compressed headers inherit from it.
type chunkStream struct {
	started   bool   // a type 0 header was seen
	extended  bool   // the last header used an extended timestamp
	tsField   uint32 // last timestamp (type 0) or delta (1/2), resolved
	timestamp uint32
	length    uint32
	typeID    uint8
	streamID  uint32
	buf       []byte // the message being reassembled; nil between messages
}

// chunkReader reassembles messages from interleaved chunk streams.
// maxStreams counts every chunk stream id the peer has used on the
// connection (ids are never freed: the spec has no close for them).
type chunkReader struct {
	r          *bufio.Reader
	chunkSize  uint32
	maxMessage uint32
	maxStreams int
	streams    map[uint32]*chunkStream
	// pending is the payload held in partial messages across all chunk
	// streams. It is capped at 2×maxMessage (one large video frame plus
	// interleaved audio) so that 64 chunk streams × 4 MiB cannot pile up.
	pending int
}

func newChunkReader(r *bufio.Reader, maxMessage uint32, maxStreams int) *chunkReader {
	return &chunkReader{r: r, chunkSize: defaultChunkSize, maxMessage: maxMessage, maxStreams: maxStreams,
		streams: make(map[uint32]*chunkStream)}
}

// setMaxMessage changes the largest message accepted from the next one on
// (see commandMaxMessage); it also bounds the bytes held in partial
// messages.
func (cr *chunkReader) setMaxMessage(n uint32) { cr.maxMessage = n }

// setChunkSize applies the peer's Set Chunk Size.
func (cr *chunkReader) setChunkSize(n uint32) error {
	if n == 0 || n > maxChunkSizeField {
		return fmt.Errorf("%w: chunk size %d", ErrChunk, n)
	}
	cr.chunkSize = min(n, maxMessageLength)
	return nil
}

// abort drops the partial message of csid (Abort Message).
func (cr *chunkReader) abort(csid uint32) {
	if cs := cr.streams[csid]; cs != nil {
		cr.pending -= len(cs.buf)
		cs.buf = nil
	}
}

// readMessage reads chunks until one message is complete.
func (cr *chunkReader) readMessage() (message, error) {
	for {
		m, done, err := cr.readChunk()
		if err != nil || done {
			return m, err
		}
	}
}

func (cr *chunkReader) readChunk() (m message, done bool, err error) {
	b0, err := cr.r.ReadByte()
	if err != nil {
		return m, false, err
	}
	format := b0 >> 6
	csid := uint32(b0 & 0x3f)
	switch csid {
	case 0:
		b, err := cr.readN(1)
		if err != nil {
			return m, false, err
		}
		csid = 64 + uint32(b[0])
	case 1:
		b, err := cr.readN(2)
		if err != nil {
			return m, false, err
		}
		csid = 64 + uint32(b[0]) + uint32(b[1])<<8
	}

	cs := cr.streams[csid]
	if cs == nil {
		if len(cr.streams) >= cr.maxStreams {
			return m, false, fmt.Errorf("%w: more than %d", ErrTooManyChunkStreams, cr.maxStreams)
		}
		cs = &chunkStream{}
		cr.streams[csid] = cs
	}
	if format != 0 && !cs.started {
		return m, false, fmt.Errorf("%w: chunk stream %d starts with header type %d", ErrChunk, csid, format)
	}
	if format != 3 && cs.buf != nil {
		return m, false, fmt.Errorf("%w: new header on chunk stream %d in the middle of a message", ErrChunk, csid)
	}
	if err := cr.readHeader(cs, format); err != nil {
		return m, false, fmt.Errorf("chunk stream %d: %w", csid, err)
	}

	if cs.buf == nil {
		if cs.length > cr.maxMessage {
			return m, false, fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooLarge, cs.length, cr.maxMessage)
		}
		cs.buf = make([]byte, 0, min(cs.length, firstAlloc))
	}
	n := min(cs.length-uint32(len(cs.buf)), cr.chunkSize)
	if err := cr.readInto(cs, int(n)); err != nil {
		return m, false, err
	}
	if uint32(len(cs.buf)) < cs.length {
		return m, false, nil
	}
	m = message{typeID: cs.typeID, streamID: cs.streamID, timestamp: cs.timestamp, payload: cs.buf}
	cr.pending -= len(cs.buf)
	cs.buf = nil // ownership passes to the caller
	return m, true, nil
}

// readHeader applies a message header of the given format to cs.
func (cr *chunkReader) readHeader(cs *chunkStream, format uint8) error {
	sizes := [4]int{11, 7, 3, 0}
	h, err := cr.readN(sizes[format])
	if err != nil {
		return err
	}
	if format == 3 {
		if !cs.extended {
			if cs.buf == nil {
				cs.timestamp += cs.tsField
			}
			return nil
		}
		if cs.buf != nil {
			// A continuation chunk: ffmpeg, OBS and the spec repeat the
			// extended timestamp here, some old encoders do not. Consume the
			// 4 bytes only if they are the value we expect. (Peek waits for
			// 4 bytes: a sender that omits them, ends the message with < 4
			// bytes and then waits for us would stall until ReadTimeout.)
			p, err := cr.r.Peek(4)
			if err == nil && binary.BigEndian.Uint32(p) == cs.tsField {
				_, _ = cr.r.Discard(4)
			}
			return nil
		}
		ext, err := cr.readN(4)
		if err != nil {
			return err
		}
		cs.tsField = binary.BigEndian.Uint32(ext)
		cs.timestamp += cs.tsField
		return nil
	}

	ts := uint32(h[0])<<16 | uint32(h[1])<<8 | uint32(h[2])
	if format <= 1 {
		cs.length = uint32(h[3])<<16 | uint32(h[4])<<8 | uint32(h[5])
		cs.typeID = h[6]
	}
	if format == 0 {
		cs.streamID = binary.LittleEndian.Uint32(h[7:11]) // the one little-endian field in RTMP
	}
	cs.extended = ts == extendedTimestamp
	if cs.extended {
		ext, err := cr.readN(4)
		if err != nil {
			return err
		}
		ts = binary.BigEndian.Uint32(ext)
	}
	cs.tsField = ts
	if format == 0 {
		cs.timestamp = ts
		cs.started = true
	} else {
		cs.timestamp += ts
	}
	return nil
}

// readN returns the next n bytes (n ≤ 11) from the buffered reader; the
// slice is valid until the next read.
func (cr *chunkReader) readN(n int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	b, err := cr.r.Peek(n)
	if err != nil {
		if err == io.EOF && len(b) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	_, _ = cr.r.Discard(n)
	return b, nil
}

// readInto appends n payload bytes to cs.buf, growing it geometrically.
func (cr *chunkReader) readInto(cs *chunkStream, n int) error {
	if cr.pending+n > 2*int(cr.maxMessage) {
		return fmt.Errorf("%w: %d bytes in partial messages", ErrMessageTooLarge, cr.pending+n)
	}
	cr.pending += n
	l := len(cs.buf)
	if cap(cs.buf)-l < n {
		grown := make([]byte, l, min(max(2*cap(cs.buf), l+n), int(cs.length)))
		copy(grown, cs.buf)
		cs.buf = grown
	}
	cs.buf = cs.buf[:l+n]
	if _, err := io.ReadFull(cr.r, cs.buf[l:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}
