package codec

import (
	"fmt"
	"math"
	"sync"
)

// A direct polyphase resampler for rational upsampling ratios, in pure Go.
// For 44.1 → 48 kHz (160/147) speexdsp will not keep a table of
// filt_len × 160 phases and interpolates between 4× oversampled taps
// instead, four dot products and a cubic per output sample; here each
// output sample is one polyphaseTaps-long dot product against a
// precomputed phase, and no cgo call.
//
// Measured at 44.1 → 48 kHz (TestPolyphaseBeatsSpeexQuality1,
// BenchmarkResampler): 0.0 dB at 15 kHz and -0.2 dB at 17 kHz (speexdsp
// quality 1: -0.1 and -1.2 dB); images and aliases of tones up to 19 kHz
// at -72 dB or less (quality 1: up to -55 dB). With cgo the dot products
// run vectorised in C (polyphase_simd.go): 17 µs per stereo AAC frame,
// against 50 µs for the Go loop and 83 µs for speexdsp at quality 1
// (0.08, 0.20 and 0.34 % of a core per stereo stream).
const (
	// polyphaseTaps is the filter length in input samples, a multiple of
	// 4 (the dot products are unrolled by 4). With polyphaseBeta, 24 taps
	// leave a transition band of 0.19 × the input rate: at 44.1 kHz, flat
	// to 15.5 kHz and in the stopband from 24 kHz, where the images of
	// tones up to 20 kHz fall. 16 taps would match speexdsp quality 1 and
	// save only a third of a cost that is already small.
	polyphaseTaps = 24
	// polyphaseCutoff is the -6 dB point as a fraction of the input's
	// Nyquist frequency (speexdsp quality 1 uses 0.88).
	polyphaseCutoff = 0.9
	// polyphaseBeta is the Kaiser window's β: about 70 dB of stopband.
	polyphaseBeta = 7.0
	// polyphaseMaxPhases bounds the table (phases × taps float32s): 320
	// phases for 22.05 → 48 kHz is 30 KB.
	polyphaseMaxPhases = 1024
	// polyphaseBlock is how many input frames each plane takes at a time:
	// one AAC frame.
	polyphaseBlock = 1024
)

// polyphaseFilter is the read-only table for one ratio, shared by every
// resampler with that ratio.
type polyphaseFilter struct {
	phases int       // L: output rate / gcd
	step   int       // M: input rate / gcd; each output advances M/L input samples
	coef   []float32 // phases × polyphaseTaps; row p filters at p/L past an input sample
}

// polyphaseFilters caches the tables between indexed AAC rates (at most 13
// × 13 ratios, 30 KB each at most) for the life of the process; any other
// ratio gets a table of its own, freed with its resampler, so rates a
// publisher chooses cannot grow the cache.
var polyphaseFilters sync.Map // [2]int{L, M} → *polyphaseFilter

// polyphaseFilterFor returns the table for inRate → outRate, shared when
// both are indexed AAC rates.
func polyphaseFilterFor(inRate, outRate int) (*polyphaseFilter, error) {
	g := gcd(inRate, outRate)
	l, m := outRate/g, inRate/g
	if m > l {
		return nil, fmt.Errorf("%w: %d → %d Hz: the polyphase resampler only upsamples", ErrInvalidArgument, inRate, outRate)
	}
	if l > polyphaseMaxPhases {
		return nil, fmt.Errorf("%w: %d → %d Hz needs %d filter phases (at most %d)", ErrInvalidArgument, inRate, outRate, l, polyphaseMaxPhases)
	}
	if !isAACSampleRate(inRate) || !isAACSampleRate(outRate) {
		return newPolyphaseFilter(l, m), nil
	}
	key := [2]int{l, m}
	if f, ok := polyphaseFilters.Load(key); ok {
		return f.(*polyphaseFilter), nil
	}
	f, _ := polyphaseFilters.LoadOrStore(key, newPolyphaseFilter(l, m))
	return f.(*polyphaseFilter), nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// newPolyphaseFilter designs a Kaiser-windowed sinc lowpass at
// polyphaseCutoff of the input's Nyquist frequency and splits it into L
// phases. Each phase is normalised to unit gain at DC, so a constant input
// stays constant whichever phase an output sample falls on.
func newPolyphaseFilter(l, m int) *polyphaseFilter {
	const taps, half = polyphaseTaps, polyphaseTaps / 2
	f := &polyphaseFilter{phases: l, step: m, coef: make([]float32, l*taps)}
	var row [taps]float64
	for p := range l {
		var sum float64
		for k := range taps {
			// Distance from the tap's input sample to the output instant.
			d := float64(p)/float64(l) + half - 1 - float64(k)
			row[k] = sinc(polyphaseCutoff*d) * kaiser(d/half, polyphaseBeta)
			sum += row[k]
		}
		for k, v := range row {
			f.coef[p*taps+k] = float32(v / sum)
		}
	}
	return f
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// kaiser is the Kaiser window at x in [-1, 1].
func kaiser(x, beta float64) float64 {
	if x <= -1 || x >= 1 {
		return 0
	}
	return besselI0(beta*math.Sqrt(1-x*x)) / besselI0(beta)
}

// besselI0 is the modified Bessel function of the first kind, order 0, by
// its power series (converges fast for the β of a window).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; term > 1e-12*sum; k++ {
		h := x / (2 * float64(k))
		term *= h * h
		sum += term
	}
	return sum
}

// polyphaseResampler converts interleaved 16-bit PCM of 1 or 2 channels
// from one rate up to a higher one, streaming: the filter's history carries over
// from call to call, and Process allocates nothing. Like NewResampler's,
// its output sample k corresponds to input time k/outRate: the filter
// starts half its length into zeros, so no delay is added.
type polyphaseResampler struct {
	f        *polyphaseFilter
	channels int
	inRate   int
	outRate  int

	planes   [2][]float32 // input per channel, the oldest frame still needed first
	buffered int          // frames in each plane
	pos      int          // frame of the next output's first tap
	phase    int          // next output's position past frame pos+taps/2-1, in 1/L input samples
	closed   bool
}

// newPolyphaseResampler creates a resampler for channels (1 or 2) from
// inRate up to outRate (each 4000-192000 Hz) whose reduced ratio has at
// most polyphaseMaxPhases output phases.
func newPolyphaseResampler(channels, inRate, outRate int) (*polyphaseResampler, error) {
	if channels < 1 || channels > 2 || inRate < 4000 || inRate > 192000 || outRate < 4000 || outRate > 192000 {
		return nil, fmt.Errorf("%w: resampler %d channels, %d → %d Hz", ErrInvalidArgument, channels, inRate, outRate)
	}
	f, err := polyphaseFilterFor(inRate, outRate)
	if err != nil {
		return nil, err
	}
	r := &polyphaseResampler{f: f, channels: channels, inRate: inRate, outRate: outRate}
	// One plane per channel: each channel's dot product reads contiguous
	// floats, which compiles to a tight loop of multiply-from-memory.
	for c := range channels {
		r.planes[c] = make([]float32, polyphaseTaps+polyphaseBlock)
	}
	// Output 0 is centred on input 0: the taps before it see silence.
	r.buffered = polyphaseTaps/2 - 1
	return r, nil
}

// MaxOutput is the most samples per channel Process can produce from
// inSamplesPerChannel; size out to MaxOutput(n)*channels.
func (r *polyphaseResampler) MaxOutput(inSamplesPerChannel int) int {
	return inSamplesPerChannel*r.outRate/r.inRate + 2
}

// Process resamples all of in (interleaved) into out and returns the
// samples per channel written. If out is too small ErrBufferTooSmall is
// returned with the samples that were written; input that did not fit the
// buffer (polyphaseBlock frames) is then dropped, and what it holds comes
// out of the next call.
func (r *polyphaseResampler) Process(in []int16, out []int16) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	ch := r.channels
	if len(in)%ch != 0 {
		return 0, fmt.Errorf("%w: %d samples is not a whole number of %d-channel frames", ErrInvalidArgument, len(in), ch)
	}
	out = out[:len(out)/ch*ch]
	written := 0
	for {
		r.dropConsumed()
		k := r.load(in)
		in = in[k*ch:]
		written += r.produce(out[written*ch:])
		full := written*ch == len(out)
		if len(in) == 0 && !(full && r.ready()) {
			return written, nil
		}
		if full {
			return written, fmt.Errorf("%w: resampler output of %d samples", ErrBufferTooSmall, len(out))
		}
	}
}

// dropConsumed moves the frames still needed to the front of the planes.
func (r *polyphaseResampler) dropConsumed() {
	drop := min(r.pos, r.buffered)
	if drop == 0 {
		return
	}
	for c := range r.channels {
		copy(r.planes[c], r.planes[c][drop:r.buffered])
	}
	r.buffered -= drop
	r.pos -= drop
}

// load converts as many frames of in as fit into the planes and returns
// how many.
func (r *polyphaseResampler) load(in []int16) int {
	if r.channels == 1 {
		dst := r.planes[0][r.buffered:]
		n := min(len(dst), len(in))
		for i, v := range in[:n] {
			dst[i] = float32(v)
		}
		r.buffered += n
		return n
	}
	left, right := r.planes[0][r.buffered:], r.planes[1][r.buffered:]
	n := min(len(left), len(right), len(in)/2)
	for i := range n {
		left[i], right[i] = float32(in[2*i]), float32(in[2*i+1])
	}
	r.buffered += n
	return n
}

// produce writes output frames while out has room and the planes hold
// every tap of the next one; it returns the frames written.
func (r *polyphaseResampler) produce(out []int16) int { return polyphaseProduce(r, out) }

// polyphaseProduce is produceGo, or with cgo its vectorised twin
// (polyphase_simd.go).
var polyphaseProduce = (*polyphaseResampler).produceGo

func (r *polyphaseResampler) produceGo(out []int16) int {
	if r.channels == 2 {
		return r.produceStereo(out)
	}
	return r.produceMono(out)
}

func (r *polyphaseResampler) produceMono(out []int16) int {
	coef, x := r.f.coef, r.planes[0][:r.buffered]
	pos, phase := r.pos, r.phase // in registers, not through r
	n := 0
	for ; n < len(out) && pos+polyphaseTaps <= len(x); n++ {
		h := (*[polyphaseTaps]float32)(coef[phase*polyphaseTaps:])
		out[n] = toInt16(dot(h, (*[polyphaseTaps]float32)(x[pos:])))
		pos, phase = r.f.next(pos, phase)
	}
	r.pos, r.phase = pos, phase
	return n
}

func (r *polyphaseResampler) produceStereo(out []int16) int {
	coef := r.f.coef
	left, right := r.planes[0][:r.buffered], r.planes[1][:r.buffered]
	pos, phase := r.pos, r.phase
	n := 0
	for ; 2*n+1 < len(out) && pos+polyphaseTaps <= len(left) && pos+polyphaseTaps <= len(right); n++ {
		h := (*[polyphaseTaps]float32)(coef[phase*polyphaseTaps:])
		out[2*n] = toInt16(dot(h, (*[polyphaseTaps]float32)(left[pos:])))
		out[2*n+1] = toInt16(dot(h, (*[polyphaseTaps]float32)(right[pos:])))
		pos, phase = r.f.next(pos, phase)
	}
	r.pos, r.phase = pos, phase
	return n
}

// dot is one output sample. Fixed-size arrays leave no bounds checks, and
// four accumulators cut the chain of dependent adds, which is what bounds
// a dot product this short, to a quarter.
func dot(h, x *[polyphaseTaps]float32) float32 {
	var a, b, c, d float32
	for k := 0; k < polyphaseTaps; k += 4 {
		a += h[k] * x[k]
		b += h[k+1] * x[k+1]
		c += h[k+2] * x[k+2]
		d += h[k+3] * x[k+3]
	}
	return (a + b) + (c + d)
}

// ready reports whether the planes hold every tap of the next output sample.
func (r *polyphaseResampler) ready() bool { return r.pos+polyphaseTaps <= r.buffered }

// next is the output instant after (pos, phase): M/L (< 1) input samples
// on.
func (f *polyphaseFilter) next(pos, phase int) (int, int) {
	phase += f.step
	if phase >= f.phases {
		return pos + 1, phase - f.phases
	}
	return pos, phase
}

// toInt16 rounds to nearest and saturates, without branches: shifted to
// be positive, truncation is rounding down.
func toInt16(v float32) int16 {
	v = min(max(v, -32768), 32767)
	return int16(int32(v+32768.5) - 32768)
}

// Close marks the resampler closed; it holds no C memory. It is safe to
// call more than once.
func (r *polyphaseResampler) Close() error {
	if r != nil {
		r.closed = true
	}
	return nil
}
