package mp4

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFragmented(t *testing.T, path string, v *testVideo, a *testAudio, videoStart time.Duration) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var tracks []TrackInfo
	if v != nil {
		tracks = append(tracks, H264Track(v.sps, v.pps))
	}
	if a != nil {
		tracks = append(tracks, a.track)
	}
	fw, err := NewFragmentWriter(f, tracks...)
	if err != nil {
		t.Fatal(err)
	}
	writeRecording(t, fw, v, a, videoStart)
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFragmentedFilePlaysAsItIs(t *testing.T) {
	v, a := testH264(t), testAAC(t)
	path := filepath.Join(t.TempDir(), "frag.mp4")
	writeFragmented(t, path, &v, &a, 40*time.Millisecond)
	if msg := ffmpegDecodeErrors(t, path); msg != "" {
		t.Fatalf("ffmpeg cannot decode the fragmented file:\n%s", msg)
	}
	// ffmpeg places the video by its tfdt: 40 ms after the audio.
	p := ffprobe(t, path)
	if len(p.Streams) != 2 || p.Streams[0].CodecName != "h264" || p.Streams[0].Width != 640 ||
		p.Streams[0].StartTime != "0.040000" || p.Streams[1].CodecName != "aac" || p.Streams[1].StartTime != "0.000000" {
		t.Errorf("streams %+v", p.Streams)
	}
}

// Synthetic media for tests that need no decoder: the SPS is real (640x360),
// the frames are filler of realistic sizes.
var (
	testSPS, _ = hex.DecodeString(spsCases[0].hex)
	testPPS    = []byte{0x68, 0xce, 0x3c, 0x80}
	testASC    = []byte{0x11, 0x90} // AAC-LC, 48 kHz, stereo
)

// fileWriter stands in for the *os.File: it counts Write and Sync calls.
type fileWriter struct {
	bytes.Buffer
	writes, syncs int
	fail          error
}

func (w *fileWriter) Write(p []byte) (int, error) {
	if w.fail != nil {
		return 0, w.fail
	}
	w.writes++
	return w.Buffer.Write(p)
}

func (w *fileWriter) Sync() error { w.syncs++; return nil }

// writeSynthetic writes seconds of 25 fps video with a keyframe every gop
// frames (none if gop is 0) and 48 kHz AAC, interleaved in time order.
func writeSynthetic(t testing.TB, fw *FragmentWriter, seconds, gop int) {
	t.Helper()
	frame := make([]byte, 4000)
	audio := make([]byte, 170)
	ai := 0
	for vi := range seconds * 25 {
		vt := time.Duration(vi) * 40 * time.Millisecond
		for at := time.Duration(ai) * 1024 * time.Second / 48000; at < vt; at = time.Duration(ai) * 1024 * time.Second / 48000 {
			if err := fw.WriteAudio(audio, at); err != nil {
				t.Fatal(err)
			}
			ai++
		}
		if err := fw.WriteVideo(frame, vt, vi == 0 || (gop > 0 && vi%gop == 0)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFragmentsAreShortWrittenOnceAndSynced(t *testing.T) {
	for _, tc := range []struct {
		name string
		gop  int // frames between keyframes at 25 fps
	}{{"keyframe every 2 s", 50}, {"keyframe every 0.8 s", 20}, {"only the first keyframe", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			w := &fileWriter{}
			fw, err := NewFragmentWriter(w, H264Track(testSPS, testPPS), AACTrack(testASC))
			if err != nil {
				t.Fatal(err)
			}
			writeSynthetic(t, fw, 10, tc.gop)
			if err := fw.Close(); err != nil {
				t.Fatal(err)
			}
			ff, err := scanFragments(bytes.NewReader(w.Bytes()), int64(w.Len()))
			if err != nil {
				t.Fatal(err)
			}
			if w.writes != ff.frags+1 || w.syncs != w.writes {
				t.Errorf("%d fragments, %d writes, %d syncs; want one write and one sync each, plus the header's", ff.frags, w.writes, w.syncs)
			}
			// Each fragment spans at most a second of sample start times.
			spans := make(map[int][2]time.Duration)
			for _, c := range ff.chunks {
				tr := ff.tracks[c.track]
				dts := tr.firstDTS
				for _, s := range tr.samples[:c.first] {
					dts += int64(s.dur)
				}
				first := fromTicks(dts, tr.timescale)
				for _, s := range tr.samples[c.first : c.first+c.n-1] {
					dts += int64(s.dur)
				}
				last := fromTicks(dts, tr.timescale)
				sp, ok := spans[c.frag]
				if !ok || first < sp[0] {
					sp[0] = first
				}
				sp[1] = max(sp[1], last)
				spans[c.frag] = sp
				if tr.video && tc.gop == 20 && !tr.samples[c.first].sync {
					t.Errorf("fragment %d starts without a keyframe though one comes every 0.8 s", c.frag)
				}
			}
			for i, sp := range spans {
				if sp[1]-sp[0] >= time.Second {
					t.Errorf("fragment %d spans %v to %v", i, sp[0], sp[1])
				}
			}
			if len(spans) < 10 || len(spans) > 13 {
				t.Errorf("%d fragments for 10 s", len(spans))
			}
		})
	}
}

func TestAudioGapAndJitterDoNotDrift(t *testing.T) {
	w := &fileWriter{}
	fw, err := NewFragmentWriter(w, AACTrack(testASC))
	if err != nil {
		t.Fatal(err)
	}
	// 3 s of audio, muted for 2 s, then 3 s more; the times are rounded to
	// milliseconds and jitter by up to ±0.4 ms, as a transcoder's might.
	rng := rand.New(rand.NewPCG(3, 4))
	var last time.Duration
	frame := make([]byte, 100)
	for i := range 8 * 48000 / 1024 {
		at := time.Duration(i) * 1024 * time.Second / 48000
		if at >= 3*time.Second && at < 5*time.Second {
			continue
		}
		at += time.Duration(rng.IntN(800)-400) * time.Microsecond
		at = at.Round(time.Millisecond)
		if err := fw.WriteAudio(frame, at); err != nil {
			t.Fatal(err)
		}
		last = at
	}
	fw.Close()
	ff, err := scanFragments(bytes.NewReader(w.Bytes()), int64(w.Len()))
	if err != nil {
		t.Fatal(err)
	}
	tr := ff.tracks[0]
	// Frames are 1024 samples each, whatever the times said; the one
	// before the gap lasts until the audio resumes.
	odd := 0
	for _, s := range tr.samples {
		if s.dur != 1024 {
			odd++
			if s.dur < 2*48000-2048 || s.dur > 2*48000+2048 {
				t.Errorf("a frame of %d samples", s.dur)
			}
		}
	}
	if odd != 1 {
		t.Errorf("%d frames not 1024 samples long; want only the one before the gap", odd)
	}
	// And the last one sits where it was written, give or take the
	// snapping tolerance: neither the gap nor the jitter accumulated.
	if diff := tr.lastDTS - toTicks(last, 48000); diff < -64 || diff > 64 {
		t.Errorf("last sample at tick %d, written at %d", tr.lastDTS, toTicks(last, 48000))
	}
}

func TestWriterRefusesWhatItCannotWrite(t *testing.T) {
	if _, err := NewFragmentWriter(&fileWriter{}); !errors.Is(err, ErrNoTracks) {
		t.Errorf("no tracks: %v", err)
	}
	for _, tracks := range [][]TrackInfo{
		{H264Track(testSPS, testPPS), H264Track(testSPS, testPPS)},
		{H264Track(nil, testPPS)},
		{AACTrack([]byte{0xff})},
		{OpusTrack(6)},
		{{Codec: Codec(42)}},
	} {
		if _, err := NewFragmentWriter(&fileWriter{}, tracks...); !errors.Is(err, ErrBadTrack) {
			t.Errorf("%v: %v, want ErrBadTrack", tracks, err)
		}
	}

	w := &fileWriter{}
	fw, err := NewFragmentWriter(w, OpusTrack(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.WriteVideo([]byte{1}, 0, true); !errors.Is(err, ErrNoSuchTrack) {
		t.Errorf("video on an audio-only writer: %v", err)
	}
	if err := fw.WriteAudio([]byte{1}, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := fw.WriteAudio([]byte{1}, 20*time.Millisecond); !errors.Is(err, ErrTimestampOrder) {
		t.Errorf("same time twice: %v", err)
	}
	w.fail = errors.New("disk full")
	fw.WriteAudio([]byte{1}, 2*time.Second) // cuts the fragment: the write fails
	if err := fw.WriteAudio([]byte{1}, 3*time.Second); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("after a failed write: %v", err)
	}
	fw.Close()
	if err := fw.WriteAudio([]byte{1}, 4*time.Second); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestVideoBeforeTheFirstKeyframeIsDropped(t *testing.T) {
	w := &fileWriter{}
	fw, _ := NewFragmentWriterOptions(w, Options{NoSync: true}, H264Track(testSPS, testPPS))
	for i := range 10 {
		if err := fw.WriteVideo([]byte{0, 0, 0, 1, 0x41}, time.Duration(i)*40*time.Millisecond, i == 4); err != nil {
			t.Fatal(err)
		}
	}
	fw.Close()
	if w.syncs != 0 {
		t.Errorf("%d syncs with NoSync", w.syncs)
	}
	ff, err := scanFragments(bytes.NewReader(w.Bytes()), int64(w.Len()))
	if err != nil {
		t.Fatal(err)
	}
	tr := ff.tracks[0]
	if len(tr.samples) != 6 || !tr.samples[0].sync || tr.firstDTS != 4*3600 {
		t.Errorf("%d samples from tick %d; want 6 from the keyframe at 160 ms", len(tr.samples), tr.firstDTS)
	}
	if tr.width != 640 || tr.height != 360 {
		t.Errorf("tkhd %dx%d", tr.width, tr.height)
	}
}
