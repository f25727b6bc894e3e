//go:build cgo

package codec

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// rtpStart is near the 32-bit wrap, so every Opus pipeline test crosses it.
const rtpStart = 0xffff0000

// opusStream encodes a tone (freqs[c] on channel c) to 20 ms Opus packets,
// as a browser would send them.
func opusStream(t testing.TB, seconds float64, freqs ...int) [][]byte {
	t.Helper()
	ch := len(freqs)
	enc, err := NewOpusEncoder(48000, ch, 64000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	pcm := sine(48000, int(seconds*48000), freqs...)
	var packets [][]byte
	buf := make([]byte, OpusMaxPacket)
	for off := 0; off+960*ch <= len(pcm); off += 960 * ch {
		n, err := enc.Encode(pcm[off:off+960*ch], buf)
		if err != nil {
			t.Fatal(err)
		}
		packets = append(packets, append([]byte(nil), buf[:n]...))
	}
	return packets
}

type aacFrame struct {
	data []byte
	pts  uint32
}

// senderClock is the wall clock of a receiver taking a browser's packets as
// they come, 20 ms apart, however fast the test runs: a gap is filled only
// as far as time passed (opusReceiver.fillCredit).
type senderClock struct{ t time.Time }

func newSenderClock() *senderClock { return &senderClock{t: time.Unix(1_000_000, 0)} }

func (c *senderClock) now() time.Time { return c.t }

// advance moves the clock on by d.
func (c *senderClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// transcodeOpusToAAC pushes packets (skipping those drop says are lost) as
// they would arrive, 20 ms apart, and flushes.
func transcodeOpusToAAC(t *testing.T, packets [][]byte, channels, rate int, drop func(i int) bool) (*OpusToAAC, []aacFrame) {
	t.Helper()
	p, err := NewOpusToAAC(channels, rate, 96000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	clock := newSenderClock()
	p.rx.now = clock.now
	var frames []aacFrame
	emit := func(aac []byte, pts uint32) {
		frames = append(frames, aacFrame{append([]byte(nil), aac...), pts})
	}
	for i, pkt := range packets {
		clock.advance(20 * time.Millisecond)
		if drop != nil && drop(i) {
			continue
		}
		if err := p.Push(pkt, rtpStart+uint32(i*960), emit); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
	}
	if err := p.Flush(emit); err != nil {
		t.Fatal(err)
	}
	return p, frames
}

// decodeAACWithFFmpeg writes the frames as ADTS and lets ffmpeg decode them.
func decodeAACWithFFmpeg(t *testing.T, asc []byte, frames []aacFrame, channels int) []int16 {
	t.Helper()
	raw := make([][]byte, len(frames))
	for i, f := range frames {
		raw[i] = f.data
	}
	path := filepath.Join(t.TempDir(), "out.aac")
	if err := os.WriteFile(path, writeADTS(t, asc, raw), 0o644); err != nil {
		t.Fatal(err)
	}
	return decodeWithFFmpeg(t, path, 48000, channels)
}

func TestOpusToAACStereo48kPlaysInFFmpeg(t *testing.T) {
	needTool(t, "ffmpeg")
	packets := opusStream(t, 2, 1000, 1500)
	p, frames := transcodeOpusToAAC(t, packets, 2, 48000, nil)

	pcm := decodeAACWithFFmpeg(t, p.AudioSpecificConfig(), frames, 2)
	assertTone(t, channel(pcm, 2, 0), 48000, 1000)
	assertTone(t, channel(pcm, 2, 1), 48000, 1500)
	inMs := float64(len(packets)) * 20
	outMs := float64(len(pcm)/2) * 1000 / 48000
	if d := inMs - outMs; d < -50 || d > 50 {
		t.Fatalf("%.0f ms of Opus became %.0f ms of AAC", inMs, outMs)
	}
	for i, f := range frames {
		if want := uint32(i * 1024 * 1000 / 48000); f.pts != want {
			t.Fatalf("frame %d pts %d ms, want %d", i, f.pts, want)
		}
	}
}

func TestOpusToAACMono44kPlaysInFFmpeg(t *testing.T) {
	needTool(t, "ffmpeg")
	packets := opusStream(t, 2, 1000)
	p, frames := transcodeOpusToAAC(t, packets, 1, 44100, nil)
	if asc := p.AudioSpecificConfig(); len(asc) != 2 || asc[0] != 0x12 || asc[1] != 0x08 {
		t.Fatalf("ASC % x, want 12 08 (AAC-LC, 44.1 kHz, mono)", asc)
	}
	pcm := decodeAACWithFFmpeg(t, p.AudioSpecificConfig(), frames, 1)
	assertTone(t, channel(pcm, 1, 0), 48000, 1000)
	inMs := float64(len(packets)) * 20
	outMs := float64(len(pcm)) * 1000 / 48000
	if d := inMs - outMs; d < -50 || d > 50 {
		t.Fatalf("%.0f ms of Opus became %.0f ms of AAC", inMs, outMs)
	}
	for i, f := range frames {
		if want := uint32(i * 1024 * 1000 / 44100); f.pts != want {
			t.Fatalf("frame %d pts %d ms, want %d", i, f.pts, want)
		}
	}
}

func TestOpusToAACLostPacketsKeepTime(t *testing.T) {
	// Every 10th packet lost, and 300 ms (packets 50-64) in a row.
	packets := opusStream(t, 3, 1000)
	lost := func(i int) bool { return i%10 == 3 || (i >= 50 && i < 65) }
	_, frames := transcodeOpusToAAC(t, packets, 1, 48000, lost)
	// The AAC stream is as long as the RTP timeline: concealment filled the
	// holes (the last packet is never lost here).
	wantFrames := (len(packets)*960 + 1023) / 1024
	if len(frames) != wantFrames {
		t.Fatalf("%d AAC frames, want %d", len(frames), wantFrames)
	}
}

func TestOpusToAACLongGapMovesPts(t *testing.T) {
	packets := opusStream(t, 1, 1000)
	p, err := NewOpusToAAC(1, 48000, 64000)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var pts []uint32
	emit := func(aac []byte, ms uint32) { pts = append(pts, ms) }
	ts := uint32(rtpStart)
	for i, pkt := range packets {
		if i == 25 {
			ts += 30 * 48000 // the sender went quiet for 30 s
		}
		if err := p.Push(pkt, ts, emit); err != nil {
			t.Fatal(err)
		}
		// A duplicate (a retransmission) adds nothing.
		if err := p.Push(pkt, ts, emit); err != nil {
			t.Fatal(err)
		}
		ts += 960
	}
	if len(pts) < 40 || len(pts) > 48 {
		t.Fatalf("%d AAC frames from 1 s of Opus: the 30 s gap was filled or duplicates counted", len(pts))
	}
	jumps := 0
	for i := 1; i < len(pts); i++ {
		switch step := pts[i] - pts[i-1]; {
		case step == 21 || step == 22:
		case step > 30000 && step < 30100:
			jumps++
		default:
			t.Fatalf("pts step %d ms at frame %d", step, i)
		}
	}
	if jumps != 1 {
		t.Fatalf("%d pts jumps, want 1", jumps)
	}
}

func TestOpusToAACCorruptPacketsKeepTime(t *testing.T) {
	packets := opusStream(t, 1, 1000)
	p, err := NewOpusToAAC(2, 48000, 96000)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	frames := 0
	emit := func(aac []byte, pts uint32) { frames++ }
	bad := 0
	for i, pkt := range packets {
		if i%7 == 3 {
			// A TOC announcing more frames than the packet holds.
			pkt = []byte{0x0b, 0xff, 0xff, 0xff}
		}
		if err := p.Push(pkt, rtpStart+uint32(i*960), emit); err != nil {
			if !errors.Is(err, ErrCorruptData) {
				t.Fatalf("packet %d: %v", i, err)
			}
			bad++
		}
	}
	if bad == 0 {
		t.Fatal("corrupt packets were accepted")
	}
	if want := len(packets) * 960 / 1024; frames != want {
		t.Fatalf("%d AAC frames, want %d: corrupt packets must be concealed, not skipped", frames, want)
	}
	if err := p.Push(nil, rtpStart, emit); err != nil {
		t.Fatalf("empty payload: %v", err)
	}
	p.Close()
	if err := p.Push(packets[0], 0, emit); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if err := p.Flush(emit); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close: %v", err)
	}
	p.Close()
}
