package mp4

import (
	"encoding/binary"
	"fmt"
)

// Bounded box parsing over bytes already in memory (a moov or a moof).
// Every size is checked against its parent before use, so a lying size
// yields ErrMalformed, never a slice panic or a large allocation.

// eachChild calls fn for each box in b, a parent box's body.
func eachChild(b []byte, fn func(typ string, body []byte) error) error {
	for len(b) > 0 {
		if len(b) < 8 {
			return fmt.Errorf("%w: %d stray bytes after the last box", ErrMalformed, len(b))
		}
		size := uint64(binary.BigEndian.Uint32(b))
		typ := string(b[4:8])
		hdr := uint64(8)
		switch size {
		case 0: // to the end of the parent
			size = uint64(len(b))
		case 1:
			if len(b) < 16 {
				return fmt.Errorf("%w: %q box header cut short", ErrMalformed, typ)
			}
			size, hdr = binary.BigEndian.Uint64(b[8:]), 16
		}
		if size < hdr || size > uint64(len(b)) {
			return fmt.Errorf("%w: %q box of %d bytes in %d", ErrMalformed, typ, size, len(b))
		}
		if err := fn(typ, b[hdr:size]); err != nil {
			return err
		}
		b = b[size:]
	}
	return nil
}

// findChild returns the body of the first child of type typ, or nil.
func findChild(b []byte, typ string) []byte {
	var found []byte
	eachChild(b, func(t string, body []byte) error {
		if t == typ && found == nil {
			found = body
		}
		return nil
	})
	return found
}

// fieldReader reads big-endian fields; reading past the end sets bad and
// yields zeros, so a parser checks once after reading a box.
type fieldReader struct {
	b   []byte
	bad bool
}

func (r *fieldReader) take(n int) []byte {
	if r.bad || len(r.b) < n {
		r.bad = true
		return make([]byte, n)
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *fieldReader) u8() uint8   { return r.take(1)[0] }
func (r *fieldReader) u16() uint16 { return binary.BigEndian.Uint16(r.take(2)) }
func (r *fieldReader) u32() uint32 { return binary.BigEndian.Uint32(r.take(4)) }
func (r *fieldReader) u64() uint64 { return binary.BigEndian.Uint64(r.take(8)) }
func (r *fieldReader) skip(n int)  { r.take(n) }

// full reads a full box's version and flags.
func (r *fieldReader) full() (version uint8, flags uint32) {
	v := r.u32()
	return uint8(v >> 24), v & 0xffffff
}

// srcTrack is a track of a fragmented file: its description from the moov,
// and after scanning, its samples.
type srcTrack struct {
	id            uint32
	video         bool
	timescale     uint32
	width, height int
	stsd          []byte // the whole stsd box, copied into the progressive moov
	codec         string // the sample entry type: avc1, mp4a, Opus
	defDur        uint32 // trex defaults
	defSize       uint32
	defFlags      uint32

	samples  []srcSample
	firstDTS int64 // the first fragment's tfdt
	lastDTS  int64 // of the last sample
}

type srcSample struct {
	off  int64
	size uint32
	dur  uint32
	cto  int32
	sync bool
}

// parseMoov reads the tracks of a fragmented file's moov.
func parseMoov(moov []byte) ([]*srcTrack, error) {
	var tracks []*srcTrack
	var mvex []byte
	err := eachChild(moov, func(typ string, body []byte) error {
		switch typ {
		case "trak":
			t, err := parseTrak(body)
			if err != nil {
				return err
			}
			tracks = append(tracks, t)
		case "mvex":
			mvex = body
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if mvex == nil {
		return nil, fmt.Errorf("%w: the moov has no mvex", ErrNotFragmented)
	}
	if len(tracks) == 0 {
		return nil, fmt.Errorf("%w: the moov has no supported track", ErrMalformed)
	}
	err = eachChild(mvex, func(typ string, body []byte) error {
		if typ != "trex" {
			return nil
		}
		r := fieldReader{b: body}
		r.full()
		id := r.u32()
		r.u32() // default_sample_description_index
		dur, size, flags := r.u32(), r.u32(), r.u32()
		if r.bad {
			return fmt.Errorf("%w: trex too short", ErrMalformed)
		}
		for _, t := range tracks {
			if t.id == id {
				t.defDur, t.defSize, t.defFlags = dur, size, flags
			}
		}
		return nil
	})
	return tracks, err
}

func parseTrak(trak []byte) (*srcTrack, error) {
	t := &srcTrack{}
	r := fieldReader{b: findChild(trak, "tkhd")}
	v, _ := r.full()
	if v == 1 {
		r.skip(16)
	} else {
		r.skip(8)
	}
	t.id = r.u32()
	r.skip(4 + 4 + 8 + 8 + 36) // reserved, duration (v0), reserved, layer…volume, matrix
	if v == 1 {
		r.skip(4)
	}
	t.width, t.height = int(r.u32()>>16), int(r.u32()>>16)
	mdia := findChild(trak, "mdia")
	m := fieldReader{b: findChild(mdia, "mdhd")}
	if v, _ := m.full(); v == 1 {
		m.skip(16)
	} else {
		m.skip(8)
	}
	t.timescale = m.u32()
	h := fieldReader{b: findChild(mdia, "hdlr")}
	h.full()
	h.u32()
	handler := string(h.take(4))
	stbl := findChild(findChild(mdia, "minf"), "stbl")
	stsd := findChild(stbl, "stsd")
	if r.bad || m.bad || h.bad || len(stsd) < 16 || t.timescale == 0 {
		return nil, fmt.Errorf("%w: incomplete trak", ErrMalformed)
	}
	if handler != "vide" && handler != "soun" {
		return nil, fmt.Errorf("%w: %q track", ErrMalformed, handler)
	}
	t.video = handler == "vide"
	t.codec = string(stsd[12:16])
	t.stsd = binary.BigEndian.AppendUint32(nil, uint32(len(stsd)+8))
	t.stsd = append(append(t.stsd, "stsd"...), stsd...)
	return t, nil
}
