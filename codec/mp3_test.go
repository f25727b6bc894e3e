//go:build cgo

package codec

import (
	"errors"
	"testing"
)

func TestMP3EncoderBuffersAndFlushes(t *testing.T) {
	enc, err := NewMP3Encoder(48000, 1, 64000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	out := make([]byte, 960*5/4+MP3FlushBytes)
	total := 0
	pcm := sine(48000, 960, 1000)
	for range 50 {
		n, err := enc.Encode(pcm, out)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	n, err := enc.Flush(out)
	if err != nil {
		t.Fatal(err)
	}
	total += n
	// 1 s at 64 kbit/s is 8000 bytes, give or take a frame of padding.
	if total < 7500 || total > 9000 {
		t.Fatalf("1 s at 64 kbit/s gave %d bytes", total)
	}
}

func TestMP3EncoderRejectsBadInput(t *testing.T) {
	for _, args := range [][3]int{{96000, 2, 128000}, {48000, 0, 128000}, {48000, 2, 1000}} {
		if e, err := NewMP3Encoder(args[0], args[1], args[2]); !errors.Is(err, ErrInvalidArgument) {
			e.Close()
			t.Errorf("NewMP3Encoder%v: %v, want ErrInvalidArgument", args, err)
		}
	}
	enc, err := NewMP3Encoder(48000, 2, 128000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Encode(make([]int16, 3), make([]byte, 8000)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("odd stereo input: %v", err)
	}
	if _, err := enc.Encode(make([]int16, 2), nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("nil output (LAME would read it as unlimited): %v", err)
	}
	// LAME reports a short buffer instead of overrunning it.
	loud := sine(48000, 48000, 1000, 1500)
	if _, err := enc.Encode(loud, make([]byte, 16)); !errors.Is(err, ErrBufferTooSmall) {
		t.Errorf("1 s into 16 bytes: %v, want ErrBufferTooSmall", err)
	}
	if _, err := enc.Flush(make([]byte, 100)); !errors.Is(err, ErrBufferTooSmall) {
		t.Errorf("Flush into 100 bytes: %v", err)
	}
	enc.Close()
	enc.Close()
	if _, err := enc.Flush(make([]byte, MP3FlushBytes)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}
