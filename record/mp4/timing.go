package mp4

import "time"

// Time in the writer and the scanner: time.Duration from the recording
// origin outside, integer ticks of each track's timescale inside.

// toTicks converts d to a clock of rate ticks per second, rounding to the
// nearest tick so times that came from that clock convert back exactly. The
// split avoids overflowing int64 for recordings of many hours.
func toTicks(d time.Duration, rate uint32) int64 {
	sec, frac := int64(d/time.Second), int64(d%time.Second)
	return sec*int64(rate) + (frac*int64(rate)+int64(time.Second)/2)/int64(time.Second)
}

func clampDuration(d int64) uint32 {
	if d > 0xffffffff {
		return 0xffffffff
	}
	return uint32(d)
}

func fromTicks(ticks int64, rate uint32) time.Duration {
	sec, frac := ticks/int64(rate), ticks%int64(rate)
	return time.Duration(sec)*time.Second + time.Duration(frac)*time.Second/time.Duration(rate)
}

// snap puts an audio frame that arrives within snapTolerance of where the
// previous frame ends exactly there. Audio frames are contiguous, but
// their times often are not exact (rounded to milliseconds, or taken from
// arrival): without snapping every AAC duration would wobble around 1024.
// Each snapped time stays within the tolerance of the time given, so
// snapping never drifts further than that; a real gap is kept as it is.
func (t *fragTrack) snap(d int64) int64 {
	if !t.started || t.nominal == 0 {
		return d
	}
	want := t.lastDTS + int64(t.nominal)
	if diff := d - want; diff >= -snapTolerance(t.nominal) && diff <= snapTolerance(t.nominal) {
		return want
	}
	return d
}

// snapTolerance is 1/16 of a frame: 1.3 ms for AAC at 48 kHz or a 20 ms
// Opus packet, above the ±0.5 ms of times rounded to milliseconds, far
// below the ~45 ms at which people notice A/V offset (ITU-R BT.1359).
func snapTolerance(frame uint32) int64 { return int64(frame / 16) }
