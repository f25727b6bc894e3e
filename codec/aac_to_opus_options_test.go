//go:build cgo

package codec

import (
	"bytes"
	"errors"
	"testing"
)

// A phone's live-pusher sends 48 kHz AAC: it reaches the Opus encoder as
// decoded, with no resampler in between. The proof: the transcoder's
// packets are byte for byte those of the AAC decoder feeding an Opus
// encoder directly (any resampling, even 48 → 48, would change samples).
func TestAACToOpus48kSourceIsNotResampled(t *testing.T) {
	src := newRoundTripSource(t, testSignals()[1], 48000, 1)
	p, packets := src.transcode(t, AACToOpusOptions{Bitrate: 48000}, -1)
	if p.rs != nil {
		t.Fatal("a 48 kHz source got a resampler")
	}

	dec, err := NewAACDecoder(src.asc)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	enc, err := NewOpusEncoder(48000, 1, 48000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if err := enc.SetComplexity(DefaultOpusComplexity); err != nil {
		t.Fatal(err)
	}
	var pcm []int16
	buf := make([]int16, AACMaxFrameSamples)
	for _, f := range src.frames {
		n, err := dec.Decode(f, buf)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, buf[:n]...)
	}
	out := make([]byte, OpusMaxPacket)
	for i, got := range packets {
		n, err := enc.Encode(pcm[i*960:(i+1)*960], out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, out[:n]) {
			t.Fatalf("packet %d differs from decode → encode: the 48 kHz PCM was altered on the way", i)
		}
	}

	// A 44.1 kHz source does need one.
	if p, _ := newRoundTripSource(t, testSignals()[0], 44100, 2).transcode(t, AACToOpusOptions{Bitrate: 48000}, -1); p.rs == nil {
		t.Fatal("a 44.1 kHz source has no resampler")
	}
}

// A mono pusher's audio is mono Opus by default; with MonoSourceChannels
// 2 it is stereo Opus, and a viewer hears the tone on both ears.
func TestAACToOpusMonoSourceChannels(t *testing.T) {
	src := newRoundTripSource(t, testSignals()[0], 48000, 1)
	for _, tc := range []struct {
		monoCh, want int
	}{{0, 1}, {1, 1}, {2, 2}} {
		p, packets := src.transcode(t, AACToOpusOptions{Bitrate: 48000, MonoSourceChannels: tc.monoCh}, -1)
		if p.Channels() != tc.want {
			t.Fatalf("MonoSourceChannels %d: %d Opus channels, want %d", tc.monoCh, p.Channels(), tc.want)
		}
		for i, pkt := range packets {
			if stereo := pkt[0]&0x4 != 0; stereo != (tc.want == 2) { // the TOC byte's s bit
				t.Fatalf("MonoSourceChannels %d: packet %d stereo flag %v", tc.monoCh, i, stereo)
			}
		}
		pcm := decodeOpus(t, packets, 2)
		assertTone(t, channel(pcm, 2, 0), 48000, 1000)
		assertTone(t, channel(pcm, 2, 1), 48000, 1000)
	}
}

func TestAACToOpusRejectsBadOptions(t *testing.T) {
	asc := makeASC(44100, 2)
	for _, o := range []AACToOpusOptions{
		{Bitrate: 48000, Complexity: -1},
		{Bitrate: 48000, Complexity: 11},
		{Bitrate: 48000, MonoSourceChannels: 3},
		{Bitrate: 100},
	} {
		if p, err := NewAACToOpusWith(asc, o); !errors.Is(err, ErrInvalidArgument) {
			if p != nil {
				p.Close()
			}
			t.Errorf("%+v: %v, want ErrInvalidArgument", o, err)
		}
	}
	enc, err := NewOpusEncoder(48000, 2, 48000)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.SetComplexity(11); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("SetComplexity(11): %v", err)
	}
	enc.Close()
	if err := enc.SetComplexity(5); !errors.Is(err, ErrClosed) {
		t.Errorf("SetComplexity after Close: %v", err)
	}
}

// The quality the defaults were chosen with (BenchmarkAACToOpusOptions
// prints the whole table), held as floors so a change of default or of
// libopus that makes viewers hear worse audio fails here: a 44.1 kHz
// stereo pusher at 48 kbit/s. Complexity 5 is measurably better on the
// tone, so the option reaches the encoder.
func TestAACToOpusQualityOfTheDefaults(t *testing.T) {
	floors := map[string]struct{ sinad, lsd float64 }{
		"tone":   {sinad: 30},
		"music":  {lsd: 4.0},
		"speech": {lsd: 4.1},
	}
	for _, s := range testSignals() {
		src := newRoundTripSource(t, s, 44100, 2)
		_, packets := src.transcode(t, AACToOpusOptions{Bitrate: 48000}, -1)
		q := src.quality(t, packets, 2)
		f := floors[s.name]
		if f.sinad > 0 && q < f.sinad || f.lsd > 0 && q > f.lsd {
			t.Errorf("%s through the defaults: %.2f, floor %+v", s.name, q, f)
		}
		if s.name == "tone" {
			_, packets := src.transcode(t, AACToOpusOptions{Bitrate: 48000, Complexity: 5}, -1)
			if q5 := src.quality(t, packets, 2); q5 < q+5 {
				t.Errorf("tone SINAD %.1f dB at complexity 5, %.1f dB at the default: the complexity did not reach the encoder", q5, q)
			}
		}
	}
}

// Every AAC rate under 48 kHz is upsampled by the polyphase resampler;
// the 64-96 kHz rates, which need downsampling, by speexdsp.
func TestAACToOpusResamplerChoice(t *testing.T) {
	for _, tc := range []struct {
		rate      int
		polyphase bool
	}{{8000, true}, {16000, true}, {22050, true}, {32000, true}, {44100, true}, {88200, false}, {96000, false}} {
		rs, err := newResamplerTo48k(2, tc.rate)
		if err != nil {
			t.Fatalf("%d Hz: %v", tc.rate, err)
		}
		if _, ok := rs.(*polyphaseResampler); ok != tc.polyphase {
			t.Errorf("%d Hz: resampler %T", tc.rate, rs)
		}
		rs.Close()
	}
	p, _ := newRoundTripSource(t, testSignals()[0], 44100, 2).transcode(t, AACToOpusOptions{Bitrate: 48000}, -1)
	if _, ok := p.rs.(*polyphaseResampler); !ok {
		t.Errorf("a 44.1 kHz pusher is resampled by %T", p.rs)
	}
}
