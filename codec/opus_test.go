//go:build cgo

package codec

import (
	"errors"
	"testing"
)

func TestOpusRoundTrip(t *testing.T) {
	enc, err := NewOpusEncoder(48000, 2, 64000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := NewOpusDecoder(48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	in := sine(48000, 48000, 1000, 1500)
	pkt := make([]byte, OpusMaxPacket)
	buf := make([]int16, OpusMaxFrameSamples*2)
	var out []int16
	for off := 0; off+1920 <= len(in); off += 1920 {
		n, err := enc.Encode(in[off:off+1920], pkt)
		if err != nil {
			t.Fatal(err)
		}
		if off == 1920*20 {
			n = 0 // lose one packet: the decoder conceals 20 ms
		}
		m, err := dec.Decode(pkt[:n], buf[:960*2])
		if err != nil || m != 960 {
			t.Fatalf("decode: %d, %v", m, err)
		}
		out = append(out, buf[:m*2]...)
	}
	assertTone(t, channel(out, 2, 0), 48000, 1000)
	assertTone(t, channel(out, 2, 1), 48000, 1500)
}

func TestOpusRejectsBadInput(t *testing.T) {
	for _, args := range [][3]int{{44100, 2, 64000}, {48000, 3, 64000}, {48000, 0, 64000}, {48000, 2, 100}} {
		if e, err := NewOpusEncoder(args[0], args[1], args[2]); !errors.Is(err, ErrInvalidArgument) {
			e.Close()
			t.Errorf("NewOpusEncoder%v: %v, want ErrInvalidArgument", args, err)
		}
	}
	if d, err := NewOpusDecoder(22050, 2); !errors.Is(err, ErrInvalidArgument) {
		d.Close()
		t.Errorf("NewOpusDecoder(22050): %v", err)
	}

	enc, err := NewOpusEncoder(48000, 2, 64000)
	if err != nil {
		t.Fatal(err)
	}
	pkt := make([]byte, OpusMaxPacket)
	for name, pcm := range map[string][]int16{
		"empty":              nil,
		"odd for stereo":     make([]int16, 1921),
		"not a frame length": make([]int16, 2*1000),
	} {
		if _, err := enc.Encode(pcm, pkt); err == nil {
			t.Errorf("Encode(%s) accepted", name)
		}
	}
	// A short output slice makes libopus squeeze the packet, never overrun.
	pkt[2] = 0xaa
	if n, err := enc.Encode(sine(48000, 960, 1000, 1000), pkt[:2]); err != nil || n > 2 || pkt[2] != 0xaa {
		t.Errorf("Encode into 2 bytes: n=%d err=%v, byte after the slice %#x", n, err, pkt[2])
	}
	enc.Close()
	enc.Close()
	if _, err := enc.Encode(make([]int16, 1920), pkt); !errors.Is(err, ErrClosed) {
		t.Errorf("Encode after Close: %v", err)
	}

	dec, err := NewOpusDecoder(48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	buf := make([]int16, OpusMaxFrameSamples*2)
	// A 120 ms packet into a 20 ms buffer: refused, not overrun.
	long := []byte{0xff, 0x03, 0x06} // CELT FB 20 ms × code 3, 6 empty frames
	if _, err := dec.Decode(long, buf[:960*2]); err == nil {
		t.Error("120 ms packet decoded into 20 ms of buffer")
	}
	if _, err := dec.Decode([]byte{0x0b, 0xff, 0xff, 0xff}, buf); !errors.Is(err, ErrCorruptData) {
		t.Errorf("garbage packet: %v, want ErrCorruptData", err)
	}
	if _, err := dec.Decode([]byte{0xfc}, buf[:1]); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("1-sample stereo buffer: %v, want ErrInvalidArgument", err)
	}
}

// FuzzOpusDecoder: arbitrary packets give errors or audio, never overruns.
func FuzzOpusDecoder(f *testing.F) {
	f.Add([]byte{0xfc, 0xff, 0xfe})
	f.Add([]byte{0x0b, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, packet []byte) {
		dec, err := NewOpusDecoder(48000, 2)
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		buf := make([]int16, 961*2)
		buf[960*2] = 0x5a5a
		if n, err := dec.Decode(packet, buf[:960*2]); err == nil && n > 960 || buf[960*2] != 0x5a5a {
			t.Fatalf("decoded %d samples into 960, guard %#x", n, buf[960*2])
		}
	})
}
