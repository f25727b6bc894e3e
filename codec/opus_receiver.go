package codec

import (
	"fmt"
	"time"
)

// Limits for turning RTP timestamp gaps into audio, at 48 kHz.
const (
	// rtpMaxFill is the longest gap filled with audio (10 s). Longer gaps
	// (a muted or paused sender, a network outage) are skipped, and the
	// pipeline moves its pts forward instead of writing silence.
	rtpMaxFill = 10 * opusRate
	// rtpMaxConceal is how much of a gap libopus conceals (PLC, or comfort
	// noise during DTX, whose gaps are 400 ms); the rest is zeros, which
	// is what PLC fades to anyway and costs nothing.
	rtpMaxConceal = opusRate
	// rtpMaxLate is how far behind the expected timestamp a packet may be
	// and still count as a late duplicate to drop; further back means the
	// sender restarted its clock.
	rtpMaxLate = opusRate
	// rtpFillJitter is how much more fill than the wall-clock time since
	// the previous packet's arrival a gap may get: packets bunch up and
	// spread out by tens of milliseconds on their way. A gap is only
	// filled as far as time really passed (a muted sender's pause, a
	// stall), so a sender whose timestamps leap 10 s per 20 ms packet gets
	// no more than real time of silence, not 500 s of it per second.
	rtpFillJitter = opusRate / 5
)

// opusReceiver decodes an RTP Opus stream into gap-free 48 kHz PCM: lost
// packets and DTX gaps become concealment or silence, so sample counts
// downstream stay in step with the sender's clock.
type opusReceiver struct {
	dec      *OpusDecoder
	channels int
	pcm      []int16
	started  bool
	next     uint32 // RTP timestamp of the next expected sample

	// now is the wall clock (time.Now when nil; tests set their own).
	now func() time.Time
	// fillCredit is how many samples of gap may still be filled: the
	// wall-clock time since the previous packet arrived, on top of at
	// most rtpFillJitter left over from before.
	fillCredit int
	arrived    time.Time // when the previous packet arrived
}

func (r *opusReceiver) init(channels int) error {
	dec, err := NewOpusDecoder(opusRate, channels)
	if err != nil {
		return err
	}
	r.dec, r.channels = dec, channels
	r.pcm = make([]int16, OpusMaxFrameSamples*channels)
	return nil
}

// push decodes packet into sink, first filling any gap before it. skip is
// called instead of filling when the gap is too long to fill, with its
// length in 48 kHz samples.
func (r *opusReceiver) push(packet []byte, ts uint32, sink func(pcm []int16) error, skip func(samples48k uint32)) error {
	if r.dec == nil {
		return ErrClosed
	}
	if len(packet) == 0 {
		return nil // nothing to place; the next packet's gap covers it
	}
	r.creditArrival()
	if !r.started {
		r.started, r.next = true, ts
	}
	switch d := int32(ts - r.next); {
	case d < 0 && d >= -rtpMaxLate:
		return nil // late or duplicate: its time has already been played
	case d < 0:
		r.next = ts // the sender restarted its clock: carry on seamlessly
	case d > rtpMaxFill:
		skip(uint32(d))
		r.next = ts
	case d > 0:
		// Fill as much of the gap as time really passed; the rest is
		// skipped, and the stream's clock moves on with the sender's.
		n := min(int(d), r.fillCredit)
		r.fillCredit -= n
		if n < int(d) {
			skip(uint32(int(d) - n))
			r.next = ts - uint32(n)
		}
		if err := r.fill(n, sink); err != nil {
			return err
		}
	}
	n, err := r.dec.Decode(packet, r.pcm)
	if err != nil {
		// r.next stays: the next packet sees the gap and conceals it.
		return fmt.Errorf("opus receiver: %w", err)
	}
	r.next = ts + uint32(n)
	return sink(r.pcm[:n*r.channels])
}

// creditArrival adds the wall-clock time since the previous packet to the
// fill credit, of which at most rtpFillJitter carries over.
func (r *opusReceiver) creditArrival() {
	now := time.Now
	if r.now != nil {
		now = r.now
	}
	t := now()
	credit := min(r.fillCredit, rtpFillJitter)
	if r.arrived.IsZero() {
		credit = rtpFillJitter
	} else if gap := t.Sub(r.arrived); gap > 0 {
		credit += int(min(gap, rtpMaxFill*time.Second/opusRate) * opusRate / time.Second)
	}
	r.fillCredit, r.arrived = credit, t
}

// fill produces n samples per channel of concealment, then silence.
func (r *opusReceiver) fill(n int, sink func([]int16) error) error {
	for done := 0; done < n; {
		chunk := min(n-done, opusFrameSample)
		pcm := r.pcm[:chunk*r.channels]
		// libopus conceals whole 2.5 ms units only.
		if done >= rtpMaxConceal || chunk%(opusRate/400) != 0 {
			clear(pcm)
		} else if _, err := r.dec.Decode(nil, pcm); err != nil {
			clear(pcm)
		}
		done += chunk
		r.next += uint32(chunk)
		if err := sink(pcm); err != nil {
			return err
		}
	}
	return nil
}

func (r *opusReceiver) close() {
	r.dec.Close()
	r.dec = nil
}

// rateConverter is what the pipelines resample with: speexdsp's Resampler
// or the pure-Go polyphaseResampler.
type rateConverter interface {
	MaxOutput(inSamplesPerChannel int) int
	Process(in, out []int16) (int, error)
	Close() error
}

// resampled is the pipelines' rate conversion: pcm through rs into out, or
// pcm itself when the rates already match (rs nil).
func resampled(rs rateConverter, pcm, out []int16, channels int) ([]int16, error) {
	if rs == nil {
		return pcm, nil
	}
	n, err := rs.Process(pcm, out)
	if err != nil {
		return nil, err
	}
	return out[:n*channels], nil
}
