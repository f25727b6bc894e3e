//go:build cgo

package codec

import (
	"bytes"
	"errors"
	"testing"
)

// decodeAll decodes every frame and returns interleaved PCM.
func decodeAll(t *testing.T, dec *AACDecoder, frames [][]byte) []int16 {
	t.Helper()
	buf := make([]int16, AACMaxFrameSamples*dec.Channels())
	var pcm []int16
	for i, f := range frames {
		n, err := dec.Decode(f, buf)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		pcm = append(pcm, buf[:n*dec.Channels()]...)
	}
	return pcm
}

func TestAACDecoderKeepsConfigChannels(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rate  int
		freqs []int
	}{
		{"mono 48 kHz", 48000, []int{440}},
		{"stereo 44.1 kHz", 44100, []int{440, 660}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asc, frames := splitADTS(t, ffmpegADTS(t, tc.rate, 1, tc.freqs...))
			dec, err := NewAACDecoder(asc)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			if dec.SampleRate() != tc.rate || dec.Channels() != len(tc.freqs) {
				t.Fatalf("decoder says %d Hz × %d, want %d Hz × %d", dec.SampleRate(), dec.Channels(), tc.rate, len(tc.freqs))
			}
			pcm := decodeAll(t, dec, frames)
			for c, f := range tc.freqs {
				assertTone(t, channel(pcm, len(tc.freqs), c), tc.rate, f)
			}
			// faad2 swallows the first frame; every other frame is 1024.
			if got, want := len(pcm)/len(tc.freqs), (len(frames)-1)*1024; got != want {
				t.Fatalf("%d samples per channel, want %d", got, want)
			}
		})
	}
}

func TestAACDecoderRejectsBadInput(t *testing.T) {
	for _, asc := range [][]byte{
		nil,
		{0x12},                               // truncated
		{0x00, 0x00},                         // object type 0
		{0x17, 0x88},                         // sampling index 15 without the explicit rate
		{0x12, 0x78},                         // channel configuration 15
		bytes.Repeat([]byte{0x12, 0x10}, 40), // absurdly long
	} {
		if d, err := NewAACDecoder(asc); err == nil {
			d.Close()
			t.Errorf("ASC % x accepted", asc)
		} else if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("ASC % x: %v, want ErrInvalidConfig", asc, err)
		}
	}

	asc, frames := splitADTS(t, ffmpegADTS(t, 44100, 0.5, 440, 660))
	dec, err := NewAACDecoder(asc)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	pcm := make([]int16, AACMaxFrameSamples*2)
	for name, frame := range map[string][]byte{
		"empty":   {},
		"nil":     nil,
		"huge":    make([]byte, 1<<20),
		"garbage": []byte("\xde\xad\xbe\xef not AAC \xff\xff\xff\xff\x00\x01"),
	} {
		if _, err := dec.Decode(frame, pcm); !errors.Is(err, ErrCorruptData) {
			t.Errorf("%s frame: %v, want ErrCorruptData", name, err)
		}
	}
	// The decoder survives all that and still decodes real frames.
	decodeAll(t, dec, frames[:5])
	// A too-small output slice is refused, not overrun.
	if _, err := dec.Decode(frames[5], make([]int16, 100)); !errors.Is(err, ErrBufferTooSmall) {
		t.Errorf("small buffer: %v, want ErrBufferTooSmall", err)
	}
	dec.Close()
	dec.Close()
	if _, err := dec.Decode(frames[6], pcm); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// FuzzAACDecoder feeds arbitrary frames to decoders for mono and stereo
// configs: errors are fine, crashes and overruns are not.
func FuzzAACDecoder(f *testing.F) {
	f.Add([]byte{0x12, 0x10}, []byte{0x21, 0x00, 0x49, 0x90, 0x02, 0x19, 0x00, 0x23, 0x80})
	f.Add([]byte{0x11, 0x88}, []byte{0x01, 0x40, 0x20, 0x07})
	f.Add([]byte{0x13, 0x10, 0x56, 0xe5, 0x98}, []byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, asc, frame []byte) {
		dec, err := NewAACDecoder(asc)
		if err != nil {
			return
		}
		defer dec.Close()
		pcm := make([]int16, AACMaxFrameSamples*dec.Channels())
		for range 3 {
			n, err := dec.Decode(frame, pcm)
			if err == nil && n*dec.Channels() > len(pcm) {
				t.Fatalf("decoded %d samples into %d", n, len(pcm))
			}
		}
	})
}
