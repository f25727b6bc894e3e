//go:build cgo

package codec

import (
	"errors"
	"math"
	"testing"
)

func TestResamplerKeepsPitchAndLength(t *testing.T) {
	for _, tc := range []struct{ in, out int }{{44100, 48000}, {48000, 44100}, {32000, 48000}} {
		r, err := NewResampler(2, tc.in, tc.out)
		if err != nil {
			t.Fatal(err)
		}
		src := sine(tc.in, tc.in, 1000, 1500) // 1 s
		buf := make([]int16, r.MaxOutput(1024)*2)
		var out []int16
		for off := 0; off < len(src); off += 2048 {
			n, err := r.Process(src[off:min(off+2048, len(src))], buf)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, buf[:n*2]...)
		}
		r.Close()
		// Filter delay is skipped, so the count is short of 1 s by at most
		// the filter's half-length.
		if got := len(out) / 2; got > tc.out || got < tc.out-100 {
			t.Errorf("%d → %d: %d samples from 1 s", tc.in, tc.out, got)
		}
		assertTone(t, channel(out, 2, 0), tc.out, 1000)
		assertTone(t, channel(out, 2, 1), tc.out, 1500)
	}
}

func TestResamplerRejectsBadInput(t *testing.T) {
	if r, err := NewResampler(3, 44100, 48000); !errors.Is(err, ErrInvalidArgument) {
		r.Close()
		t.Errorf("3 channels: %v", err)
	}
	if r, err := NewResampler(1, 0, 48000); !errors.Is(err, ErrInvalidArgument) {
		r.Close()
		t.Errorf("0 Hz: %v", err)
	}
	r, err := NewResampler(2, 44100, 48000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Process(make([]int16, 3), make([]int16, 100)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("odd stereo input: %v", err)
	}
	// Output too small: partial result and ErrBufferTooSmall, no overrun.
	out := make([]int16, 102)
	n, err := r.Process(make([]int16, 2048), out[:100])
	if !errors.Is(err, ErrBufferTooSmall) || n > 50 || out[100] != 0 {
		t.Errorf("small output: n=%d err=%v", n, err)
	}
	r.Close()
	r.Close()
	if _, err := r.Process(make([]int16, 2), out); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// BenchmarkResampler compares the AAC → Opus upsampler with speexdsp at
// the qualities the pipelines use or used, on AAC-frame calls of stereo
// noise.
func BenchmarkResampler(b *testing.B) {
	in := noiseFrames(AACFrameSamples * 2)
	for _, tc := range []struct {
		name string
		newR func() (rateConverter, error)
	}{
		{"polyphase-44k-48k-stereo", func() (rateConverter, error) { return newPolyphaseResampler(2, 44100, 48000) }},
		{"polyphase-go-44k-48k-stereo", func() (rateConverter, error) {
			polyphaseProduce = (*polyphaseResampler).produceGo
			b.Cleanup(func() { polyphaseProduce = (*polyphaseResampler).produceSIMD })
			return newPolyphaseResampler(2, 44100, 48000)
		}},
		{"speex-q1-44k-48k-stereo", func() (rateConverter, error) { return newResampler(2, 44100, 48000, 1) }},
		{"speex-q3-44k-48k-stereo", func() (rateConverter, error) { return newResampler(2, 44100, 48000, 3) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r, err := tc.newR()
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			out := make([]int16, r.MaxOutput(AACFrameSamples)*2)
			done := reportCorePercent(b)
			for range b.N {
				if _, err := r.Process(in, out); err != nil {
					b.Fatal(err)
				}
			}
			done(float64(b.N) * AACFrameSamples / 44100)
		})
	}
}

// The polyphase resampler that feeds AAC → Opus is at least as good as
// speexdsp at the quality it replaced (1): as flat at 15 kHz, and no
// louder images of the tones up to 19 kHz.
func TestPolyphaseBeatsSpeexQuality1(t *testing.T) {
	speex := sweepResampler(t, func() rateConverter {
		r, err := newResampler(2, 44100, 48000, 1)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}, 2, 44100, 48000, sweepFreqs)
	poly := sweepResampler(t, func() rateConverter {
		r, err := newPolyphaseResampler(2, 44100, 48000)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}, 2, 44100, 48000, sweepFreqs)
	for i, f := range sweepFreqs {
		t.Logf("%5.0f Hz: speex q1 %6.2f dB, images %6.1f dB; polyphase %6.2f dB, images %6.1f dB",
			f, speex.gainDB[i], speex.restDB[i], poly.gainDB[i], poly.restDB[i])
	}
	if p, s := poly.gainAt(15000), speex.gainAt(15000); math.Abs(p) > math.Abs(s) {
		t.Errorf("15 kHz: polyphase %.2f dB, speex q1 %.2f dB", p, s)
	}
	if p, s := poly.worstRest(19000), speex.worstRest(19000); p > s {
		t.Errorf("loudest image up to 19 kHz: polyphase %.1f dB, speex q1 %.1f dB", p, s)
	}
}
