package rtmp

import (
	"bufio"
	"encoding/binary"
)

// outChunkSize is the chunk size we announce right after connect: 4096 cuts
// header overhead for video (a 128-byte default costs ~1 byte per 128) and
// is what FMS, nginx-rtmp and SRS use.
const outChunkSize = 4096

// chunkWriter splits messages into chunks. Every message starts with a
// type 0 header: compressed headers would save ~10 bytes per message but
// make every player depend on our delta bookkeeping being right.
type chunkWriter struct {
	w         *bufio.Writer
	chunkSize uint32
	hdr       [3 + 11 + 4]byte // reused so writing allocates nothing
}

func newChunkWriter(w *bufio.Writer) *chunkWriter {
	return &chunkWriter{w: w, chunkSize: defaultChunkSize}
}

// basicHeader writes the 1-3 byte basic header into cw.hdr.
func (cw *chunkWriter) basicHeader(format uint8, csid uint32) int {
	switch {
	case csid < 64:
		cw.hdr[0] = format<<6 | byte(csid)
		return 1
	case csid < 64+256:
		cw.hdr[0], cw.hdr[1] = format<<6, byte(csid-64)
		return 2
	default:
		cw.hdr[0], cw.hdr[1], cw.hdr[2] = format<<6|1, byte(csid-64), byte((csid-64)>>8)
		return 3
	}
}

// writeMessage writes m on chunk stream csid. It does not flush. The
// caller guarantees len(m.payload) ≤ 0xffffff.
func (cw *chunkWriter) writeMessage(csid uint32, m message) error {
	n := cw.basicHeader(0, csid)
	ts := min(m.timestamp, extendedTimestamp)
	l := len(m.payload)
	h := cw.hdr[n:]
	h[0], h[1], h[2] = byte(ts>>16), byte(ts>>8), byte(ts)
	h[3], h[4], h[5] = byte(l>>16), byte(l>>8), byte(l)
	h[6] = m.typeID
	binary.LittleEndian.PutUint32(h[7:11], m.streamID)
	n += 11
	extended := ts == extendedTimestamp
	if extended {
		binary.BigEndian.PutUint32(cw.hdr[n:], m.timestamp)
		n += 4
	}
	if _, err := cw.w.Write(cw.hdr[:n]); err != nil {
		return err
	}
	p := m.payload
	for {
		c := min(uint32(len(p)), cw.chunkSize)
		if _, err := cw.w.Write(p[:c]); err != nil {
			return err
		}
		p = p[c:]
		if len(p) == 0 {
			return nil
		}
		// Continuation: type 3, repeating the extended timestamp as ffmpeg
		// expects (it reads 4 more bytes whenever the field was 0xffffff).
		n = cw.basicHeader(3, csid)
		if extended {
			binary.BigEndian.PutUint32(cw.hdr[n:], m.timestamp)
			n += 4
		}
		if _, err := cw.w.Write(cw.hdr[:n]); err != nil {
			return err
		}
	}
}
