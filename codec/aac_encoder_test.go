//go:build cgo

package codec

import (
	"bytes"
	"errors"
	"testing"
)

func TestAACEncoderRoundTripThroughFAAD(t *testing.T) {
	enc, err := NewAACEncoder(44100, 2, 128000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	// AAC-LC (2), 44.1 kHz (index 4), 2 channels.
	if asc := enc.AudioSpecificConfig(); !bytes.Equal(asc, []byte{0x12, 0x10}) || enc.FrameSamples() != 1024 {
		t.Fatalf("ASC % x, frame %d", asc, enc.FrameSamples())
	}
	dec, err := NewAACDecoder(enc.AudioSpecificConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	in := sine(44100, 44100, 1000, 1500)
	out := make([]byte, 768*2)
	var frames [][]byte
	for off := 0; off+2048 <= len(in); off += 2048 {
		n, err := enc.Encode(in[off:off+2048], out)
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, append([]byte(nil), out[:n]...))
	}
	pcm := decodeAll(t, dec, frames)
	assertTone(t, channel(pcm, 2, 0), 44100, 1000)
	assertTone(t, channel(pcm, 2, 1), 44100, 1500)
}

func TestAACEncoderRejectsBadInput(t *testing.T) {
	for _, args := range [][3]int{{44000, 2, 96000}, {96000, 2, 96000}, {48000, 3, 96000}, {48000, 2, 1000}} {
		if e, err := NewAACEncoder(args[0], args[1], args[2]); !errors.Is(err, ErrInvalidArgument) {
			e.Close()
			t.Errorf("NewAACEncoder%v: %v, want ErrInvalidArgument", args, err)
		}
	}
	enc, err := NewAACEncoder(48000, 1, 64000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 768)
	for _, n := range []int{0, 1023, 1025, 2048} {
		if _, err := enc.Encode(make([]int16, n), out); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Encode(%d samples): %v, want ErrInvalidArgument", n, err)
		}
	}
	loud := sine(48000, 1024, 1000)
	if _, err := enc.Encode(loud, out[:1]); !errors.Is(err, ErrBufferTooSmall) {
		t.Errorf("Encode into 1 byte: %v, want ErrBufferTooSmall", err)
	}
	enc.Close()
	enc.Close()
	if _, err := enc.Encode(loud, out); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}
