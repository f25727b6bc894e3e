//go:build cgo

package codec

import (
	"errors"
	"testing"
)

// transcodeAACToOpus pushes frames with RTMP-style millisecond pts and
// returns the Opus packets and their RTP timestamps.
func transcodeAACToOpus(t *testing.T, asc []byte, frames [][]byte, pts func(i int) uint32) (*AACToOpus, [][]byte, []uint32) {
	t.Helper()
	p, err := NewAACToOpus(asc, 64000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	var packets [][]byte
	var stamps []uint32
	emit := func(opus []byte, ts uint32) {
		packets = append(packets, append([]byte(nil), opus...))
		stamps = append(stamps, ts)
	}
	for i, f := range frames {
		if err := p.Push(f, pts(i), emit); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	return p, packets, stamps
}

// decodeOpus decodes packets with a fresh decoder, as a WebRTC peer would.
func decodeOpus(t *testing.T, packets [][]byte, channels int) []int16 {
	t.Helper()
	dec, err := NewOpusDecoder(48000, channels)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	buf := make([]int16, OpusMaxFrameSamples*channels)
	var pcm []int16
	for i, pkt := range packets {
		n, err := dec.Decode(pkt, buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if n != 960 {
			t.Fatalf("packet %d is %d samples, want 20 ms (960)", i, n)
		}
		pcm = append(pcm, buf[:n*channels]...)
	}
	return pcm
}

func rtmpPts(rate int) func(int) uint32 {
	return func(i int) uint32 { return uint32(1000 + i*1024*1000/rate) }
}

func TestAACToOpusStereo44kKeepsToneAndChannelOrder(t *testing.T) {
	// An RTMP publisher sends 44.1 kHz stereo: 440 Hz left, 660 Hz right.
	asc, frames := splitADTS(t, ffmpegADTS(t, 44100, 2, 440, 660))
	p, packets, stamps := transcodeAACToOpus(t, asc, frames, rtmpPts(44100))
	if p.Channels() != 2 {
		t.Fatalf("Opus channels %d, want 2", p.Channels())
	}
	pcm := decodeOpus(t, packets, 2)

	// A WebRTC viewer hears the same tones on the same ears...
	assertTone(t, channel(pcm, 2, 0), 48000, 440)
	assertTone(t, channel(pcm, 2, 1), 48000, 660)
	// ...for as long as the publisher sent.
	inMs := float64(len(frames)) * 1024 * 1000 / 44100
	outMs := float64(len(pcm)/2) * 1000 / 48000
	if d := inMs - outMs; d < -50 || d > 50 {
		t.Fatalf("%.0f ms of AAC became %.0f ms of Opus", inMs, outMs)
	}
	// RTP timestamps start at the first pts and advance exactly 960 per frame.
	if stamps[0] != 1000*48 {
		t.Fatalf("first RTP timestamp %d, want %d", stamps[0], 1000*48)
	}
	for i := 1; i < len(stamps); i++ {
		if stamps[i]-stamps[i-1] != 960 {
			t.Fatalf("RTP timestamp step %d at packet %d, want 960", stamps[i]-stamps[i-1], i)
		}
	}
}

func TestAACToOpusMono48kStaysMono(t *testing.T) {
	asc, frames := splitADTS(t, ffmpegADTS(t, 48000, 2, 440))
	p, packets, _ := transcodeAACToOpus(t, asc, frames, rtmpPts(48000))
	if p.Channels() != 1 {
		t.Fatalf("Opus channels %d, want 1 for a mono source", p.Channels())
	}
	// Decoded as the mono stream it is...
	pcm := decodeOpus(t, packets, 1)
	assertTone(t, channel(pcm, 1, 0), 48000, 440)
	inMs := float64(len(frames)) * 1024 * 1000 / 48000
	outMs := float64(len(pcm)) * 1000 / 48000
	if d := inMs - outMs; d < -50 || d > 50 {
		t.Fatalf("%.0f ms of AAC became %.0f ms of Opus", inMs, outMs)
	}
	// ...and by a browser negotiating opus/48000/2: the tone on both ears.
	stereo := decodeOpus(t, packets, 2)
	assertTone(t, channel(stereo, 2, 0), 48000, 440)
	assertTone(t, channel(stereo, 2, 1), 48000, 440)
}

func TestAACToOpusTimestampJitterAndJumps(t *testing.T) {
	asc, frames := splitADTS(t, ffmpegADTS(t, 48000, 2, 440))
	jump := len(frames) / 2
	pts := func(i int) uint32 {
		ms := uint32(i * 1024 * 1000 / 48000)
		if i%3 == 1 {
			ms += 7 // RTMP timestamps jitter by a few ms
		}
		if i >= jump {
			ms += 3000 // the publisher paused for 3 s
		}
		return ms
	}
	_, _, stamps := transcodeAACToOpus(t, asc, frames, pts)
	jumps := 0
	for i := 1; i < len(stamps); i++ {
		switch step := int32(stamps[i] - stamps[i-1]); {
		case step == 960:
		// The partial frame dropped at the restart (< 960) and faad2's one
		// frame of warm-up lag (1024) and the restart pts's own jitter (7 ms)
		// may add to the 3 s.
		case step > 3000*48-960 && step <= 3000*48+960+1024+7*48:
			jumps++
		default:
			t.Fatalf("RTP timestamp step %d at packet %d: jitter leaked into RTP time", step, i)
		}
	}
	if jumps != 1 {
		t.Fatalf("%d timeline restarts, want 1 for the 3 s pause", jumps)
	}
}

func TestAACToOpusBadFramesKeepTime(t *testing.T) {
	asc, frames := splitADTS(t, ffmpegADTS(t, 44100, 1, 440, 660))
	p, err := NewAACToOpus(asc, 64000)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	samples := 0
	emit := func(opus []byte, ts uint32) { samples += 960 }
	bad := 0
	for i, f := range frames {
		if i%10 == 5 {
			f = []byte("this is not an AAC frame at all, but a sentence")
		}
		if err := p.Push(f, rtmpPts(44100)(i), emit); err != nil {
			if !errors.Is(err, ErrCorruptData) {
				t.Fatalf("frame %d: %v, want ErrCorruptData", i, err)
			}
			bad++
		}
	}
	if bad == 0 {
		t.Fatal("garbage frames were accepted")
	}
	// Garbage frames became silence of the same length: time is kept.
	inMs := float64(len(frames)) * 1024 * 1000 / 44100
	outMs := float64(samples) * 1000 / 48000
	if d := inMs - outMs; d < -50 || d > 50 {
		t.Fatalf("%.0f ms of AAC became %.0f ms of Opus", inMs, outMs)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Push(frames[0], 0, emit); !errors.Is(err, ErrClosed) {
		t.Fatalf("Push after Close: %v, want ErrClosed", err)
	}
	p.Close()
}
