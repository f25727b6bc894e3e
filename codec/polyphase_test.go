package codec

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// toneAmplitude is the test tones' level: -6 dBFS, loud enough that 16-bit
// rounding (-98 dB under it) stays far below the -60 dB being measured.
const toneAmplitude = 16384

// resampleTone runs 1 s of a freq Hz tone (on every channel) through r in
// AAC-frame chunks, as the pipeline does, and returns channel 0 of the
// output.
func resampleTone(tb testing.TB, r rateConverter, channels, inRate int, freq float64) []float64 {
	tb.Helper()
	in := make([]int16, inRate*channels)
	for i := range inRate {
		v := int16(math.Round(toneAmplitude * math.Sin(2*math.Pi*freq*float64(i)/float64(inRate))))
		for c := range channels {
			in[i*channels+c] = v
		}
	}
	buf := make([]int16, r.MaxOutput(AACFrameSamples)*channels)
	var out []float64
	for off := 0; off < len(in); off += AACFrameSamples * channels {
		n, err := r.Process(in[off:min(off+AACFrameSamples*channels, len(in))], buf)
		if err != nil {
			tb.Fatal(err)
		}
		for i := range n {
			out = append(out, float64(buf[i*channels]))
		}
	}
	return out
}

// toneResponse fits a freq sinusoid to x (least squares on sin and cos) and
// returns its gain against toneAmplitude and the power of everything else
// (images, aliases, noise) against it, both in dB.
func toneResponse(x []float64, rate, freq float64) (gainDB, restDB float64) {
	var ss, sc, cc, xs, xc float64
	for i, v := range x {
		w := 2 * math.Pi * freq * float64(i) / rate
		s, c := math.Sin(w), math.Cos(w)
		ss, sc, cc, xs, xc = ss+s*s, sc+s*c, cc+c*c, xs+v*s, xc+v*c
	}
	det := ss*cc - sc*sc
	a, b := (xs*cc-xc*sc)/det, (xc*ss-xs*sc)/det
	var sig, rest float64
	for i, v := range x {
		w := 2 * math.Pi * freq * float64(i) / rate
		fit := a*math.Sin(w) + b*math.Cos(w)
		sig += fit * fit
		rest += (v - fit) * (v - fit)
	}
	gainDB = 20 * math.Log10(math.Hypot(a, b)/toneAmplitude)
	return gainDB, 10 * math.Log10(max(rest, 1e-9)/sig)
}

// filterSweep is a resampler's response to tones across the source's band.
type filterSweep struct {
	freqs  []float64
	gainDB []float64 // at each tone
	restDB []float64 // images and aliases of each tone, against it
}

func sweepResampler(tb testing.TB, newR func() rateConverter, channels, inRate, outRate int, freqs []float64) filterSweep {
	tb.Helper()
	s := filterSweep{freqs: freqs}
	for _, f := range freqs {
		r := newR()
		out := resampleTone(tb, r, channels, inRate, f)
		r.Close()
		// The middle half: no start-up transient.
		g, rest := toneResponse(out[len(out)/4:3*len(out)/4], float64(outRate), f)
		s.gainDB = append(s.gainDB, g)
		s.restDB = append(s.restDB, rest)
	}
	return s
}

// worstRest is the loudest image or alias of the tones up to maxFreq.
func (s filterSweep) worstRest(maxFreq float64) float64 {
	worst := math.Inf(-1)
	for i, f := range s.freqs {
		if f <= maxFreq {
			worst = max(worst, s.restDB[i])
		}
	}
	return worst
}

func (s filterSweep) gainAt(freq float64) float64 {
	return s.gainDB[slices.Index(s.freqs, freq)]
}

var sweepFreqs = []float64{100, 1000, 5000, 10000, 12000, 15000, 16000, 17000, 18000, 19000, 20000}

// An RTMP pusher's 44.1 kHz audio reaches the Opus encoder with every
// frequency Opus keeps (up to 20 kHz, in practice 15-17 kHz at RTMP
// bitrates) at its level, and the upsampler adds no image or alias a
// listener could hear.
func TestPolyphasePassbandAndImages(t *testing.T) {
	for _, tc := range []struct {
		in, out      int
		passband     float64 // Hz flat within 0.5 dB
		imagesBelow  float64 // Hz: tones up to here have images under -70 dB
		channelCount int
	}{
		{44100, 48000, 15000, 19000, 2},
		{44100, 48000, 15000, 19000, 1},
		{32000, 48000, 10000, 13000, 2},
		{22050, 48000, 5000, 9000, 1},
		{16000, 48000, 5000, 6000, 1},
	} {
		var freqs []float64
		for _, f := range sweepFreqs {
			if f < float64(tc.in)/2 {
				freqs = append(freqs, f)
			}
		}
		s := sweepResampler(t, func() rateConverter {
			r, err := newPolyphaseResampler(tc.channelCount, tc.in, tc.out)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}, tc.channelCount, tc.in, tc.out, freqs)
		for i, f := range s.freqs {
			t.Logf("%d → %d Hz, %d ch: %5.0f Hz gain %6.2f dB, images %6.1f dB", tc.in, tc.out, tc.channelCount, f, s.gainDB[i], s.restDB[i])
			if f <= tc.passband && math.Abs(s.gainDB[i]) > 0.5 {
				t.Errorf("%d → %d Hz: %.0f Hz at %.2f dB, want flat within 0.5 dB", tc.in, tc.out, f, s.gainDB[i])
			}
			if f <= tc.imagesBelow && s.restDB[i] > -70 {
				t.Errorf("%d → %d Hz: images of %.0f Hz at %.1f dB, want under -70 dB", tc.in, tc.out, f, s.restDB[i])
			}
		}
	}
}

// Output sample k is input time k/outRate, as NewResampler documents:
// a 1 kHz tone comes out as the same tone sampled at 48 kHz, in phase,
// from the first sample on (timestamps are derived from the sample count).
func TestPolyphaseAddsNoDelay(t *testing.T) {
	r, err := newPolyphaseResampler(1, 44100, 48000)
	if err != nil {
		t.Fatal(err)
	}
	out := resampleTone(t, r, 1, 44100, 1000)
	// The filter needs taps/2 input samples ahead of an output sample, so
	// 1 s of input gives 1 s of output less that look-ahead.
	if want := 48000 - (polyphaseTaps/2)*48000/44100; len(out) < want-2 || len(out) > want+2 {
		t.Errorf("%d samples from 1 s, want %d", len(out), want)
	}
	var errPow, sigPow float64
	for k, v := range out[polyphaseTaps:] { // past the zeros before input 0
		k += polyphaseTaps
		want := toneAmplitude * math.Sin(2*math.Pi*1000*float64(k)/48000)
		errPow += (v - want) * (v - want)
		sigPow += want * want
	}
	if snr := 10 * math.Log10(sigPow/errPow); snr < 80 {
		t.Errorf("output against the ideal 48 kHz tone: %.1f dB, want ≥ 80 (a delay or phase error)", snr)
	}
}

// Cutting the input anywhere (AAC frames, or odd sizes) gives the same
// output as one call with everything.
func TestPolyphaseStreamsAcrossCalls(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ ch, in, out int }{{2, 44100, 48000}, {1, 44100, 48000}, {2, 32000, 48000}, {1, 16000, 48000}} {
		in := make([]int16, 20000*tc.ch)
		for i := range in {
			in[i] = int16(rng.IntN(40000) - 20000)
		}
		whole, err := newPolyphaseResampler(tc.ch, tc.in, tc.out)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]int16, whole.MaxOutput(20000)*tc.ch)
		n, err := whole.Process(in, want)
		if err != nil {
			t.Fatal(err)
		}
		want = want[:n*tc.ch]

		chunked, _ := newPolyphaseResampler(tc.ch, tc.in, tc.out)
		var got []int16
		buf := make([]int16, chunked.MaxOutput(3000)*tc.ch)
		for rest := in; len(rest) > 0; {
			k := min(len(rest), (1+rng.IntN(3000))*tc.ch)
			n, err := chunked.Process(rest[:k], buf)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, buf[:n*tc.ch]...)
			rest = rest[k:]
		}
		if !slices.Equal(got, want) {
			t.Errorf("%d ch %d → %d Hz: chunked output (%d samples) differs from one call (%d)", tc.ch, tc.in, tc.out, len(got), len(want))
		}
	}
}

// A live stream resamples every 21 ms: the hot path allocates nothing.
func TestPolyphaseProcessDoesNotAllocate(t *testing.T) {
	r, err := newPolyphaseResampler(2, 44100, 48000)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]int16, AACFrameSamples*2)
	out := make([]int16, r.MaxOutput(AACFrameSamples)*2)
	if allocs := testing.AllocsPerRun(100, func() {
		if _, err := r.Process(in, out); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("%.1f allocations per Process", allocs)
	}
}

func TestPolyphaseRejectsBadInput(t *testing.T) {
	for _, tc := range []struct{ ch, in, out int }{{3, 44100, 48000}, {1, 0, 48000}, {1, 48000, 44100}, {1, 44101, 48000}} {
		if _, err := newPolyphaseResampler(tc.ch, tc.in, tc.out); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%d ch %d → %d Hz: %v, want ErrInvalidArgument", tc.ch, tc.in, tc.out, err)
		}
	}
	r, _ := newPolyphaseResampler(2, 44100, 48000)
	if _, err := r.Process(make([]int16, 3), make([]int16, 100)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("odd stereo input: %v", err)
	}
	// Output too small: a partial result and ErrBufferTooSmall, no overrun;
	// what was not written comes out of the next call.
	out := make([]int16, 102)
	n, err := r.Process(make([]int16, 2048), out[:100])
	if !errors.Is(err, ErrBufferTooSmall) || n != 50 || out[100] != 0 {
		t.Errorf("small output: n=%d err=%v", n, err)
	}
	r.Close()
	r.Close()
	if _, err := r.Process(make([]int16, 2), out); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func noiseFrames(n int) []int16 {
	rng := rand.New(rand.NewPCG(5, 6))
	in := make([]int16, n)
	for i := range in {
		in[i] = int16(rng.IntN(20000) - 10000)
	}
	return in
}
