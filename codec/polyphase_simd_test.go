//go:build cgo

package codec

import "testing"

// The vectorised kernel is the Go one summed in another order: on noise at
// full scale its samples are the Go kernel's or one step off.
func TestPolyphaseSIMDMatchesGo(t *testing.T) {
	for _, ch := range []int{1, 2} {
		in := noiseFrames(5 * AACFrameSamples * ch)
		for i := range in {
			in[i] *= 3 // ±30000: near full scale, and saturating
		}
		run := func(produce func(*polyphaseResampler, []int16) int) []int16 {
			r, err := newPolyphaseResampler(ch, 44100, 48000)
			if err != nil {
				t.Fatal(err)
			}
			saved := polyphaseProduce
			polyphaseProduce = produce
			defer func() { polyphaseProduce = saved }()
			out := make([]int16, r.MaxOutput(len(in)/ch)*ch)
			n, err := r.Process(in, out)
			if err != nil {
				t.Fatal(err)
			}
			return out[:n*ch]
		}
		goOut, simdOut := run((*polyphaseResampler).produceGo), run((*polyphaseResampler).produceSIMD)
		if len(goOut) != len(simdOut) || len(goOut) < 5*AACFrameSamples*ch {
			t.Fatalf("%d ch: %d samples from Go, %d from SIMD", ch, len(goOut), len(simdOut))
		}
		for i := range goOut {
			if d := int(goOut[i]) - int(simdOut[i]); d < -1 || d > 1 {
				t.Fatalf("%d ch: sample %d is %d in Go, %d in SIMD", ch, i, goOut[i], simdOut[i])
			}
		}
	}
}
