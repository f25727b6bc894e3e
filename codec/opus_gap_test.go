//go:build cgo

package codec

import (
	"testing"
	"time"
)

// A WebRTC publisher whose Opus RTP timestamps leap 10 s with every 20 ms
// packet once made each packet cost 10 s of concealment and silence,
// encoded for every FLV viewer and recording: 50 packets became 500 s of
// AAC (23,000 frames, 3.9 MB). A gap is now filled only as far as time
// really passed, so packets fed as fast as the test runs give their own
// second of audio and at most the 200 ms jitter allowance more.
func TestLeapingTimestampsGiveNoMoreAudioThanTimePassed(t *testing.T) {
	packets := opusStream(t, 1, 440, 660) // 50 packets
	const leap = 10 * 48000
	const most = 1.0 + 0.2 + 0.1 // s: the packets, the allowance, framing and the test's own run time

	aac, err := NewOpusToAAC(2, 48000, 64000)
	if err != nil {
		t.Fatal(err)
	}
	defer aac.Close()
	mp3, err := NewOpusToMP3(2, 48000, 128000)
	if err != nil {
		t.Fatal(err)
	}
	defer mp3.Close()
	aacFrames, mp3Bytes := 0, 0
	for i, pkt := range packets {
		ts := rtpStart + uint32(i)*leap
		if err := aac.Push(pkt, ts, func([]byte, uint32) { aacFrames++ }); err != nil {
			t.Fatal(err)
		}
		if err := mp3.Push(pkt, ts, func(b []byte) { mp3Bytes += len(b) }); err != nil {
			t.Fatal(err)
		}
	}
	if s := float64(aacFrames) * 1024 / 48000; s > most {
		t.Fatalf("%d packets (1 s) leaping 10 s each became %d AAC frames (%.1f s)", len(packets), aacFrames, s)
	}
	// 128 kbit/s is 16,000 bytes a second.
	if s := float64(mp3Bytes) / 16000; s > most {
		t.Fatalf("%d packets (1 s) leaping 10 s each became %d bytes of MP3 (%.1f s)", len(packets), mp3Bytes, s)
	}
}

// A sender that really pauses (muted, DTX, a network stall) gets its gap
// filled: 2 s between two packets in wall time and in RTP time is 2 s of
// silence, so the recording and the FLV stream keep time.
func TestARealPauseIsFilledWithSilence(t *testing.T) {
	packets := opusStream(t, 2, 440) // 100 packets
	p, err := NewOpusToAAC(1, 48000, 64000)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	clock := newSenderClock()
	p.rx.now = clock.now
	frames := 0
	var pts []uint32
	emit := func(_ []byte, ms uint32) { frames++; pts = append(pts, ms) }
	ts := uint32(rtpStart)
	for i, pkt := range packets {
		clock.advance(20 * time.Millisecond)
		if i == 50 {
			clock.advance(2 * time.Second)
			ts += 2 * 48000
		}
		if err := p.Push(pkt, ts, emit); err != nil {
			t.Fatal(err)
		}
		ts += 960
	}
	// 2 s of packets and the 2 s pause, in 1024-sample frames (the last
	// partial frame is still waiting).
	if want := (4 * 48000) / 1024; frames != want {
		t.Fatalf("%d AAC frames, want %d: the pause was not filled", frames, want)
	}
	for i := 1; i < len(pts); i++ {
		if step := pts[i] - pts[i-1]; step != 21 && step != 22 {
			t.Fatalf("pts step %d ms at frame %d: the timeline jumped instead of playing the pause", step, i)
		}
	}
}
