package mp4

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// maxHeaderBox caps the moov and moof boxes read into memory: ours are a
// few kilobytes (a 1 s moof of 25 video + 50 audio samples is ~1 KiB), so a
// size beyond this is a lie, not a reason to allocate.
const maxHeaderBox = 16 << 20

// Info describes the media in a fragmented or finalised file.
type Info struct {
	// Duration runs from the earliest sample to the end of the latest.
	Duration time.Duration
	// Start is the earliest sample's time from the recording origin;
	// VideoStart and AudioStart are each track's first sample (zero
	// without that track). A finalised file starts at Start.
	Start, VideoStart, AudioStart time.Duration
	VideoSamples, AudioSamples    int
	VideoCodec, AudioCodec        string // sample entry types: avc1, mp4a, Opus
	Width, Height                 int
	Fragments                     int
	// Size is, for Scan, the bytes up to the end of the last complete
	// fragment; for Finalize, the size of the progressive file.
	Size int64
	// Ignored counts the bytes after the last complete fragment: a
	// fragment cut by a crash, or what a power loss left behind.
	Ignored int64
}

// fragFile is a scanned fragmented file.
type fragFile struct {
	tracks []*srcTrack
	chunks []chunk // in file order: fragment by fragment, track by track
	frags  int
	end    int64 // end of the last complete fragment
	size   int64
}

// chunk is one track's samples in one fragment; Finalize keeps it as one
// chunk of the progressive file.
type chunk struct {
	track    int
	first, n int // sample indexes in the track
	frag     int // the fragment it came from, counting from 0
}

// Scan reports the media held in whole fragments of a fragmented file
// without rewriting it.
func Scan(fragmentedPath string) (Info, error) {
	f, err := os.Open(fragmentedPath)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Info{}, err
	}
	ff, err := scanFragments(f, st.Size())
	if err != nil {
		return Info{}, fmt.Errorf("scan %s: %w", fragmentedPath, err)
	}
	info := ff.info()
	info.Size = ff.end
	return info, nil
}

// scanFragments reads the moov and then every whole moof+mdat pair. A
// fragment that does not fit in the file, or anything unreadable after the
// first good fragment, ends the scan: that is what a crash leaves.
func scanFragments(r io.ReaderAt, size int64) (*fragFile, error) {
	ff := &fragFile{size: size}
	var hdr [16]byte
	var moof []byte
	moofAt := int64(-1)
	pos := int64(0)
boxes:
	for pos < size {
		typ, boxSize, hlen, err := readBoxHeader(r, pos, size, hdr[:])
		if err != nil {
			if ff.frags > 0 && errors.Is(err, ErrMalformed) {
				break boxes
			}
			return nil, err
		}
		if boxSize > size-pos { // not pos+boxSize: a 64-bit size may overflow it
			if ff.tracks == nil {
				return nil, fmt.Errorf("%w: the file ends inside its %s (%d of %d bytes)", ErrNoMedia, typ, size-pos, boxSize)
			}
			break boxes // cut short
		}
		switch typ {
		case "moov", "moof":
			if boxSize > maxHeaderBox {
				err = fmt.Errorf("%w: %s of %d bytes at %d", ErrMalformed, typ, boxSize, pos)
				break
			}
			body := make([]byte, boxSize-hlen)
			if _, err = r.ReadAt(body, pos+hlen); err != nil {
				break
			}
			if typ == "moov" {
				if ff.tracks != nil {
					err = fmt.Errorf("%w: second moov at %d", ErrMalformed, pos)
				} else {
					ff.tracks, err = parseMoov(body)
				}
			} else if ff.tracks == nil {
				err = fmt.Errorf("%w: moof at %d before any moov", ErrNotFragmented, pos)
			} else {
				moof, moofAt = body, pos
			}
		case "mdat":
			if moof != nil {
				err = ff.addFragment(moof, moofAt, pos+hlen, pos+boxSize)
				moof = nil
			}
		}
		if err != nil {
			if ff.frags > 0 && errors.Is(err, ErrMalformed) {
				break boxes // garbage after good fragments: the tail of a crash
			}
			return nil, err
		}
		if moof == nil {
			ff.end = pos + boxSize
		}
		pos += boxSize
	}
	if ff.tracks == nil {
		return nil, fmt.Errorf("%w: no moov", ErrNotFragmented)
	}
	if ff.frags == 0 {
		return nil, ErrNoMedia
	}
	return ff, nil
}

// readBoxHeader reads the header of the box at pos; boxSize includes it.
func readBoxHeader(r io.ReaderAt, pos, size int64, hdr []byte) (typ string, boxSize, hlen int64, err error) {
	if size-pos < 8 {
		return "", 0, 0, fmt.Errorf("%w: %d stray bytes at %d", ErrMalformed, size-pos, pos)
	}
	n := min(int64(16), size-pos)
	if _, err := r.ReadAt(hdr[:n], pos); err != nil && !errors.Is(err, io.EOF) {
		return "", 0, 0, err
	}
	boxSize, hlen = int64(binary.BigEndian.Uint32(hdr)), 8
	typ = string(hdr[4:8])
	switch boxSize {
	case 0:
		boxSize = size - pos
	case 1:
		if n < 16 {
			return "", 0, 0, fmt.Errorf("%w: %q header cut short at %d", ErrMalformed, typ, pos)
		}
		boxSize, hlen = int64(binary.BigEndian.Uint64(hdr[8:])), 16
	}
	for _, c := range []byte(typ) {
		if c < 0x20 || c > 0x7e { // zeros or garbage, not a box type
			return "", 0, 0, fmt.Errorf("%w: no box at %d", ErrMalformed, pos)
		}
	}
	if boxSize < hlen {
		return "", 0, 0, fmt.Errorf("%w: %q box of %d bytes at %d", ErrMalformed, typ, boxSize, pos)
	}
	return typ, boxSize, hlen, nil
}

// info summarises the scanned samples.
func (ff *fragFile) info() Info {
	in := Info{Fragments: ff.frags, Ignored: ff.size - ff.end}
	first := true
	var start, end time.Duration
	for _, t := range ff.tracks {
		if len(t.samples) == 0 {
			continue
		}
		s := fromTicks(t.firstDTS, t.timescale)
		e := fromTicks(t.lastDTS+int64(t.samples[len(t.samples)-1].dur), t.timescale)
		if first || s < start {
			start = s
		}
		if first || e > end {
			end = e
		}
		first = false
		if t.video {
			in.VideoStart, in.VideoSamples, in.VideoCodec = s, len(t.samples), t.codec
			in.Width, in.Height = t.width, t.height
		} else {
			in.AudioStart, in.AudioSamples, in.AudioCodec = s, len(t.samples), t.codec
		}
	}
	in.Start, in.Duration = start, end-start
	return in
}
