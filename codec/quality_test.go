//go:build cgo

package codec

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"sync"
	"testing"
)

// Quality figures for the AAC → Opus round trip: what an RTMP pusher sends
// against what a WebRTC viewer decodes. They are deterministic (libopus and
// the test signals are), so tests may hold them to a floor; the CPU each
// setting costs is measured in BenchmarkAACToOpusOptions.
//
//   - toneSINAD: a 1 kHz tone at -12 dBFS, the tone's power over everything
//     else (noise and distortion, THD+N inverted), in dB; higher is better.
//   - logSpectralDistance: the RMS difference in dB between the source's
//     and the output's short-time spectra (2048-point frames, 50 Hz-16 kHz,
//     a 50 dB floor under each frame's peak), over the frames that are not
//     silent; 0 is identical, lower is better. Run on a music-like and a
//     speech-like signal.

// qualitySeconds of each test signal.
const qualitySeconds = 3

// lsdFloor: spectral components more than 50 dB under a frame's peak are
// masked by it; counted in full, the codecs' noise filling between a
// tone's harmonics would swamp the distance.
const lsdFloor = 1e-5

// testSignal is a deterministic function of time, so the same signal can
// be made at the source's rate (44.1 or 48 kHz) and as the 48 kHz reference.
type testSignal struct {
	name string
	at   func(t float64, c int) float64 // full scale is ±1
}

var testSignals = sync.OnceValue(func() []testSignal {
	return []testSignal{
		{"tone", func(t float64, _ int) float64 { return 0.25 * math.Sin(2*math.Pi*1000*t) }},
		{"music", musicAt()},
		{"speech", speechAt()},
	}
})

// partials are fixed random sine partials in [lo, hi) Hz: noise-like, yet
// the same function of time at any sample rate.
func partials(seed uint64, n int, lo, hi float64) func(t float64) float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	freq, phase := make([]float64, n), make([]float64, n)
	for i := range n {
		freq[i], phase[i] = lo+(hi-lo)*rng.Float64(), 2*math.Pi*rng.Float64()
	}
	norm := math.Sqrt(2 / float64(n))
	return func(t float64) float64 {
		var v float64
		for i := range freq {
			v += math.Sin(2*math.Pi*freq[i]*t + phase[i])
		}
		return v * norm
	}
}

// musicAt: a bass line, a three-note chord of harmonic tones changing every
// half second, panned apart on a stereo source, and a hi-hat on the
// quavers.
func musicAt() func(t float64, c int) float64 {
	hat := partials(1, 48, 5000, 14000)
	chords := [][3]float64{{261.6, 329.6, 392.0}, {220.0, 261.6, 329.6}, {174.6, 220.0, 261.6}, {196.0, 246.9, 293.7}}
	bass := []float64{65.4, 55.0, 87.3, 98.0}
	return func(t float64, c int) float64 {
		bar := int(t / 0.5)
		since := t - float64(bar)*0.5
		env := math.Min(since/0.01, 1) * math.Exp(-3*since)
		var v float64
		for n, f := range chords[bar%len(chords)] {
			pan := 0.5 + 0.35*float64(n-1)*float64(2*c-1) // left/right differ per note
			for k := 1; k <= 10; k++ {
				v += pan * env * 0.06 / float64(k) * math.Sin(2*math.Pi*f*float64(k)*t)
			}
		}
		v += 0.15 * env * math.Sin(2*math.Pi*bass[bar%len(bass)]*t)
		q := t - math.Floor(t/0.25)*0.25
		v += 0.05 * math.Exp(-q/0.03) * hat(t)
		return v
	}
}

// speechAt: a source-filter voice. Syllables of 180 ms with 70 ms gaps;
// each is voiced (harmonics of a gliding 95-145 Hz pitch shaped by three
// formants of a vowel) or, every third, a fricative (noise at 3-8 kHz).
func speechAt() func(t float64, c int) float64 {
	fric := partials(2, 64, 3000, 8000)
	vowels := [][3]float64{{730, 1090, 2440}, {270, 2290, 3010}, {300, 870, 2240}, {530, 1840, 2480}, {570, 840, 2410}}
	formant := func(f, centre float64) float64 {
		bw := 80 + 0.05*centre
		d := (f - centre) / bw
		return 1 / math.Sqrt(1+d*d)
	}
	return func(t float64, _ int) float64 {
		syl := int(t / 0.25)
		since := t - float64(syl)*0.25
		if since > 0.18 {
			return 0
		}
		env := 0.5 - 0.5*math.Cos(2*math.Pi*since/0.18)
		if syl%3 == 2 {
			return 0.08 * env * fric(t)
		}
		// f0(t) = 120 + 25 sin(2π 0.7 t); the phase is its integral.
		f0 := 120 + 25*math.Sin(2*math.Pi*0.7*t)
		phase := 2 * math.Pi * (120*t - 25/(2*math.Pi*0.7)*math.Cos(2*math.Pi*0.7*t))
		vw := vowels[syl%len(vowels)]
		var v float64
		for k := 1; float64(k)*f0 < 5000; k++ {
			f := float64(k) * f0
			a := formant(f, vw[0]) + 0.5*formant(f, vw[1]) + 0.25*formant(f, vw[2])
			v += a / math.Sqrt(float64(k)) * math.Sin(float64(k)*phase)
		}
		return 0.04 * env * v
	}
}

// render makes seconds of s at rate with channels, interleaved 16-bit.
func render(s testSignal, rate, channels int, seconds float64) []int16 {
	n := int(seconds * float64(rate))
	pcm := make([]int16, n*channels)
	for i := range n {
		t := float64(i) / float64(rate)
		for c := range channels {
			pcm[i*channels+c] = int16(max(-32768, min(32767, math.Round(32768*s.at(t, c)))))
		}
	}
	return pcm
}

// encodeAACFrames encodes pcm to raw AAC-LC frames, as a pusher would.
func encodeAACFrames(tb testing.TB, pcm []int16, rate, channels, bitrate int) (asc []byte, frames [][]byte) {
	tb.Helper()
	enc, err := NewAACEncoder(rate, channels, bitrate)
	if err != nil {
		tb.Fatal(err)
	}
	defer enc.Close()
	buf := make([]byte, 768*channels)
	step := AACFrameSamples * channels
	for off := 0; off+step <= len(pcm); off += step {
		n, err := enc.Encode(pcm[off:off+step], buf)
		if err != nil {
			tb.Fatal(err)
		}
		if n > 0 {
			frames = append(frames, append([]byte(nil), buf[:n]...))
		}
	}
	return enc.AudioSpecificConfig(), frames
}

// sinad is the power of the best-fitting freq sinusoid over the power of
// the rest (least squares on sin, cos and DC), in dB.
func sinad(x []float64, rate, freq float64) float64 {
	// Normal equations for [sin cos 1]; the window is whole seconds, so
	// the basis is close to orthogonal, but solve it properly anyway.
	var a [3][3]float64
	var b [3]float64
	basis := func(i int) [3]float64 {
		w := 2 * math.Pi * freq * float64(i) / rate
		return [3]float64{math.Sin(w), math.Cos(w), 1}
	}
	for i, v := range x {
		u := basis(i)
		for r := range 3 {
			b[r] += u[r] * v
			for c := range 3 {
				a[r][c] += u[r] * u[c]
			}
		}
	}
	coef := solve3(a, b)
	var sig, res float64
	for i, v := range x {
		u := basis(i)
		fit := coef[0]*u[0] + coef[1]*u[1]
		sig += fit * fit
		e := v - fit - coef[2]
		res += e * e
	}
	return 10 * math.Log10(sig/max(res, 1e-9))
}

func solve3(a [3][3]float64, b [3]float64) [3]float64 {
	for col := range 3 { // Gaussian elimination with partial pivoting
		p := col
		for r := col + 1; r < 3; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[p][col]) {
				p = r
			}
		}
		a[col], a[p], b[col], b[p] = a[p], a[col], b[p], b[col]
		for r := col + 1; r < 3; r++ {
			f := a[r][col] / a[col][col]
			for c := col; c < 3; c++ {
				a[r][c] -= f * a[col][c]
			}
			b[r] -= f * b[col]
		}
	}
	var x [3]float64
	for r := 2; r >= 0; r-- {
		s := b[r]
		for c := r + 1; c < 3; c++ {
			s -= a[r][c] * x[c]
		}
		x[r] = s / a[r][r]
	}
	return x
}

// delayOf is the lag (in samples, -maxLag..maxLag) at which out best
// matches ref, by cross-correlation over a stretch from the middle.
func delayOf(ref, out []float64, maxLag int) int {
	start, n := len(ref)/3, min(16384, len(ref)/3)
	best, bestC := 0, math.Inf(-1)
	for lag := -maxLag; lag <= maxLag; lag++ {
		if start+lag < 0 || start+lag+n > len(out) {
			continue
		}
		var c float64
		for i := range n {
			c += ref[start+i] * out[start+lag+i]
		}
		if c > bestC {
			best, bestC = lag, c
		}
	}
	return best
}

// logSpectralDistance compares out, delayed by lag samples, with ref; both
// at 48 kHz.
func logSpectralDistance(ref, out []float64, lag int) float64 {
	const size, hop, rate = 2048, 1024, 48000
	lo, hi := 50*size/rate, 16000*size/rate
	win := make([]float64, size)
	for i := range win {
		win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/size)
	}
	spectrum := func(x []float64, at int) []float64 {
		buf := make([]complex128, size)
		for i := range size {
			buf[i] = complex(x[at+i]*win[i], 0)
		}
		fft(buf)
		p := make([]float64, size/2)
		for i := range p {
			a := cmplx.Abs(buf[i])
			p[i] = a * a
		}
		return p
	}
	var sum float64
	var frames int
	for at := rate / 4; at+size <= len(ref) && at+lag+size <= len(out); at += hop { // skip the start-up
		if at+lag < 0 {
			continue
		}
		r, o := spectrum(ref, at), spectrum(out, at+lag)
		peak := 0.0
		for k := lo; k < hi; k++ {
			peak = max(peak, r[k])
		}
		// Not silent: a peak above -60 dBFS (a full-scale sine's bin is
		// (32768·size/4)²).
		if peak < math.Pow(32768*size/4, 2)*1e-6 {
			continue
		}
		floor := peak * lsdFloor
		var d2 float64
		for k := lo; k < hi; k++ {
			d := 10 * math.Log10(max(o[k], floor)/max(r[k], floor))
			d2 += d * d
		}
		sum += math.Sqrt(d2 / float64(hi-lo))
		frames++
	}
	if frames == 0 {
		return math.NaN()
	}
	return sum / float64(frames)
}

// fft is an in-place radix-2 FFT; len(x) is a power of two.
func fft(x []complex128) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j |= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		w := cmplx.Exp(complex(0, -2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			wk := complex(1, 0)
			for k := range size / 2 {
				a, b := x[start+k], x[start+k+size/2]*wk
				x[start+k], x[start+k+size/2] = a+b, a-b
				wk *= w
			}
		}
	}
}

// roundTripSource is one pusher's AAC: a test signal at a rate and channel
// count, encoded once.
type roundTripSource struct {
	signal         testSignal
	rate, channels int
	asc            []byte
	frames         [][]byte
	ref            []float64 // channel 0 at 48 kHz, what the viewer should hear
}

func newRoundTripSource(tb testing.TB, s testSignal, rate, channels int) *roundTripSource {
	bitrate := 64000 * channels // near-transparent AAC, so Opus makes the difference
	asc, frames := encodeAACFrames(tb, render(s, rate, channels, qualitySeconds), rate, channels, bitrate)
	return &roundTripSource{signal: s, rate: rate, channels: channels, asc: asc, frames: frames,
		ref: channel(render(s, 48000, 1, qualitySeconds), 1, 0)}
}

// transcode pushes the source through an AACToOpus with o and returns the
// Opus packets. rsQuality ≥ 0 replaces the resampler with speexdsp at that
// quality (0-10), to compare; -1 keeps the default (newResamplerTo48k).
func (s *roundTripSource) transcode(tb testing.TB, o AACToOpusOptions, rsQuality int) (*AACToOpus, [][]byte) {
	tb.Helper()
	p, err := NewAACToOpusWith(s.asc, o)
	if err != nil {
		tb.Fatal(err)
	}
	if p.rs != nil && rsQuality >= 0 {
		p.rs.Close()
		rs, err := newResampler(p.srcCh, s.rate, opusRate, rsQuality)
		if err != nil {
			tb.Fatal(err)
		}
		p.rs = rs
	}
	var packets [][]byte
	emit := func(opus []byte, _ uint32) { packets = append(packets, append([]byte(nil), opus...)) }
	for i, f := range s.frames {
		if err := p.Push(f, uint32(i*AACFrameSamples*1000/s.rate), emit); err != nil {
			tb.Fatal(err)
		}
	}
	return p, packets
}

// quality decodes packets as a viewer would (on channels) and scores
// them against the source: the tone's SINAD or the spectral distance,
// the worse channel's.
func (s *roundTripSource) quality(tb testing.TB, packets [][]byte, channels int) float64 {
	dec, err := NewOpusDecoder(48000, channels)
	if err != nil {
		tb.Fatal(err)
	}
	defer dec.Close()
	buf := make([]int16, OpusMaxFrameSamples*channels)
	var pcm []int16
	for _, pkt := range packets {
		n, err := dec.Decode(pkt, buf)
		if err != nil {
			tb.Fatal(err)
		}
		pcm = append(pcm, buf[:n*channels]...)
	}
	worst := math.NaN()
	for c := range channels {
		out := channel(pcm, channels, c)
		var q float64
		if s.signal.name == "tone" {
			q = sinad(out[len(out)/4:3*len(out)/4], 48000, 1000)
			if math.IsNaN(worst) || q < worst {
				worst = q
			}
			continue
		}
		ref := s.ref
		if s.channels == 2 && c == 1 {
			ref = channel(render(s.signal, 48000, 2, qualitySeconds), 2, 1)
		}
		q = logSpectralDistance(ref, out, delayOf(ref, out, 4096))
		if math.IsNaN(worst) || q > worst {
			worst = q
		}
	}
	return worst
}
