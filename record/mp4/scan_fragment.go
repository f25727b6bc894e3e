package mp4

import "fmt"

// tfhd and trun flags read by the scanner (ISO/IEC 14496-12 §8.8.7, §8.8.8).
const (
	tfhdBaseOffset    = 0x000001
	tfhdDescription   = 0x000002
	tfhdDuration      = 0x000008
	tfhdSize          = 0x000010
	tfhdFlags         = 0x000020
	trunFirstFlags    = 0x000004
	sampleIsNonSync   = 0x00010000
	maxFragmentSample = 1 << 20 // far above 1 s of anything; bounds allocation
)

// trafSamples is one traf's samples before the fragment proves complete.
type trafSamples struct {
	track   *srcTrack
	tfdt    int64
	hasTfdt bool
	samples []srcSample
}

// addFragment parses a moof whose mdat payload spans [dataStart, dataEnd)
// and, if every sample lies inside that mdat, appends its samples.
func (ff *fragFile) addFragment(moof []byte, moofAt, dataStart, dataEnd int64) error {
	var trafs []trafSamples
	total := 0
	prevEnd := moofAt
	err := eachChild(moof, func(typ string, traf []byte) error {
		if typ != "traf" {
			return nil
		}
		ts, err := ff.parseTraf(traf, moofAt, prevEnd, len(trafs) == 0, dataStart, dataEnd, &total)
		if err != nil {
			return err
		}
		if n := len(ts.samples); n > 0 {
			prevEnd = ts.samples[n-1].off + int64(ts.samples[n-1].size)
		}
		trafs = append(trafs, ts)
		return nil
	})
	if err != nil {
		return fmt.Errorf("fragment at %d: %w", moofAt, err)
	}
	for _, ts := range trafs {
		t := ts.track
		if len(ts.samples) == 0 {
			continue
		}
		dts := ts.tfdt
		if n := len(t.samples); n > 0 {
			last := &t.samples[n-1]
			if ts.hasTfdt && ts.tfdt > t.lastDTS {
				// The writer guessed this duration; tfdt knows better,
				// and a gap (muted audio) lands here too.
				last.dur = clampDuration(ts.tfdt - t.lastDTS)
			}
			dts = t.lastDTS + int64(last.dur)
		} else {
			t.firstDTS = dts
		}
		ti := ff.trackIndex(t)
		ff.chunks = append(ff.chunks, chunk{track: ti, first: len(t.samples), n: len(ts.samples), frag: ff.frags})
		for _, s := range ts.samples[:len(ts.samples)-1] {
			dts += int64(s.dur)
		}
		t.lastDTS = dts
		t.samples = append(t.samples, ts.samples...)
	}
	ff.frags++
	return nil
}

func (ff *fragFile) trackIndex(t *srcTrack) int {
	for i, x := range ff.tracks {
		if x == t {
			return i
		}
	}
	return -1
}

// parseTraf reads one traf: tfhd, tfdt and its truns.
func (ff *fragFile) parseTraf(traf []byte, moofAt, prevEnd int64, first bool, dataStart, dataEnd int64, total *int) (trafSamples, error) {
	var ts trafSamples
	r := fieldReader{b: findChild(traf, "tfhd")}
	_, flags := r.full()
	id := r.u32()
	for _, t := range ff.tracks {
		if t.id == id {
			ts.track = t
		}
	}
	if r.bad || ts.track == nil {
		return ts, fmt.Errorf("%w: traf for unknown track %d", ErrMalformed, id)
	}
	t := ts.track
	base := moofAt
	if flags&tfhdBaseOffset != 0 {
		base = int64(r.u64())
	} else if flags&tfhdDefaultIsMoof == 0 && !first {
		base = prevEnd
	}
	if flags&tfhdDescription != 0 {
		r.u32()
	}
	defDur, defSize, defFlags := t.defDur, t.defSize, t.defFlags
	if flags&tfhdDuration != 0 {
		defDur = r.u32()
	}
	if flags&tfhdSize != 0 {
		defSize = r.u32()
	}
	if flags&tfhdFlags != 0 {
		defFlags = r.u32()
	}
	if r.bad {
		return ts, fmt.Errorf("%w: tfhd too short", ErrMalformed)
	}
	if tfdt := findChild(traf, "tfdt"); tfdt != nil {
		r := fieldReader{b: tfdt}
		if v, _ := r.full(); v == 1 {
			ts.tfdt = int64(r.u64() & (1<<62 - 1))
		} else {
			ts.tfdt = int64(r.u32())
		}
		ts.hasTfdt = !r.bad
	}

	cur := base
	firstTrun := true
	err := eachChild(traf, func(typ string, body []byte) error {
		if typ != "trun" {
			return nil
		}
		r := fieldReader{b: body}
		_, flags := r.full()
		count := r.u32()
		if flags&trunDataOffset != 0 {
			cur = base + int64(int32(r.u32()))
		} else if firstTrun {
			cur = base
		}
		firstTrun = false
		firstFlags, hasFirst := uint32(0), flags&trunFirstFlags != 0
		if hasFirst {
			firstFlags = r.u32()
		}
		entry := 0
		for _, f := range []uint32{trunDuration, trunSize, trunFlags, trunCompOffset} {
			if flags&f != 0 {
				entry += 4
			}
		}
		if r.bad || uint64(count)*uint64(entry) > uint64(len(r.b)) || *total+int(count) > maxFragmentSample {
			return fmt.Errorf("%w: trun of %d samples in %d bytes", ErrMalformed, count, len(r.b))
		}
		*total += int(count)
		for i := range int(count) {
			s := srcSample{dur: defDur, size: defSize}
			sf := defFlags
			if flags&trunDuration != 0 {
				s.dur = r.u32()
			}
			if flags&trunSize != 0 {
				s.size = r.u32()
			}
			if flags&trunFlags != 0 {
				sf = r.u32()
			}
			if i == 0 && hasFirst {
				sf = firstFlags
			}
			if flags&trunCompOffset != 0 {
				s.cto = int32(r.u32()) // version 0 is unsigned, but never ≥ 2^31 in practice
			}
			s.sync = !t.video || sf&sampleIsNonSync == 0
			s.off = cur
			cur += int64(s.size)
			// Empty samples are refused so that the sample count, and the
			// memory it takes, stays below the file's size.
			if s.size == 0 || s.off < dataStart || cur > dataEnd {
				return fmt.Errorf("%w: sample at %d+%d outside its mdat [%d, %d)", ErrMalformed, s.off, s.size, dataStart, dataEnd)
			}
			ts.samples = append(ts.samples, s)
		}
		return nil
	})
	return ts, err
}
