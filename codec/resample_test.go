//go:build cgo

package codec

import (
	"errors"
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
