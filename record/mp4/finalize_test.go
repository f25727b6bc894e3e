package mp4

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// topLevelBoxes lists the types of a file's top-level boxes with their offsets.
func topLevelBoxes(t *testing.T, path string) (types []string, offs []int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for pos := int64(0); pos+8 <= int64(len(b)); {
		size := int64(binary.BigEndian.Uint32(b[pos:]))
		if size == 1 {
			size = int64(binary.BigEndian.Uint64(b[pos+8:]))
		}
		types, offs = append(types, string(b[pos+4:pos+8])), append(offs, pos)
		if size < 8 {
			break
		}
		pos += size
	}
	return types, offs
}

func TestFinalizedRecordingIsFaststartAndKeepsVideoStart(t *testing.T) {
	v, a := testH264(t), testAAC(t)
	dir := t.TempDir()
	frag, out := filepath.Join(dir, "frag.mp4"), filepath.Join(dir, "out.mp4")
	writeFragmented(t, frag, &v, &a, 40*time.Millisecond)

	if msg := ffmpegDecodeErrors(t, frag); msg != "" {
		t.Fatalf("the fragmented file does not play as it is:\n%s", msg)
	}
	scanned, err := Scan(frag)
	if err != nil {
		t.Fatal(err)
	}
	info, err := Finalize(frag, out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("finalize: %+v", info)
	if info.VideoSamples != len(v.aus) || info.AudioSamples != len(a.frames) {
		t.Errorf("samples %d video, %d audio; want %d, %d", info.VideoSamples, info.AudioSamples, len(v.aus), len(a.frames))
	}
	if info.VideoStart != 40*time.Millisecond || info.AudioStart != 0 || info.Ignored != 0 {
		t.Errorf("starts %v/%v, ignored %d", info.VideoStart, info.AudioStart, info.Ignored)
	}
	if scanned.Duration != info.Duration || scanned.VideoSamples != info.VideoSamples {
		t.Errorf("Scan says %+v, Finalize %+v", scanned, info)
	}
	if st, _ := os.Stat(out); st.Size() != info.Size {
		t.Errorf("Info.Size %d, file %d", info.Size, st.Size())
	}

	if types, _ := topLevelBoxes(t, out); len(types) != 3 || types[0] != "ftyp" || types[1] != "moov" || types[2] != "mdat" {
		t.Errorf("top-level boxes %v, want ftyp moov mdat", types)
	}
	if msg := ffmpegDecodeErrors(t, out); msg != "" {
		t.Fatalf("ffmpeg cannot decode the finalised file:\n%s", msg)
	}
	p := ffprobe(t, out)
	if d := seconds(t, p.Format.Duration); math.Abs(d-10) > 0.1 {
		t.Errorf("duration %.3f s, want 10 ± 0.1", d)
	}
	var sawVideo, sawAudio bool
	for _, s := range p.Streams {
		switch s.CodecType {
		case "video":
			sawVideo = true
			if s.CodecName != "h264" || s.Width != 640 || s.Height != 360 {
				t.Errorf("video stream %+v, want h264 640x360", s)
			}
			if st := seconds(t, s.StartTime); math.Abs(st-0.040) > 0.001 {
				t.Errorf("video starts at %.3f s, want 0.040 (40 ms after the audio)", st)
			}
		case "audio":
			sawAudio = true
			if s.CodecName != "aac" || seconds(t, s.StartTime) != 0 {
				t.Errorf("audio stream %+v, want aac from 0", s)
			}
		}
	}
	if !sawVideo || !sawAudio {
		t.Errorf("streams %+v, want video and audio", p.Streams)
	}
}

func TestRecordingCutByCrashInItsLastFragmentStillFinalises(t *testing.T) {
	v, a := testH264(t), testAAC(t)
	dir := t.TempDir()
	frag := filepath.Join(dir, "frag.mp4")
	writeFragmented(t, frag, &v, &a, 40*time.Millisecond)
	whole, err := os.ReadFile(frag)
	if err != nil {
		t.Fatal(err)
	}
	full, err := Scan(frag)
	if err != nil {
		t.Fatal(err)
	}
	types, offs := topLevelBoxes(t, frag)
	lastMoof := int64(0)
	for i, typ := range types {
		if typ == "moof" {
			lastMoof = offs[i]
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cuts := []int64{lastMoof + 1, lastMoof + 20, int64(len(whole)) - 1}
	for range 3 {
		cuts = append(cuts, lastMoof+1+rng.Int64N(int64(len(whole))-lastMoof-1))
	}
	for _, cut := range cuts {
		cutPath, out := filepath.Join(dir, "cut.mp4"), filepath.Join(dir, "cut-out.mp4")
		if err := os.WriteFile(cutPath, whole[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		info, err := Finalize(cutPath, out)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if info.Duration < full.Duration-1100*time.Millisecond || info.Ignored != cut-lastMoof {
			t.Errorf("cut at %d of %d: %+v", cut, len(whole), info)
		}
		if msg := ffmpegDecodeErrors(t, out); msg != "" {
			t.Errorf("cut at %d: ffmpeg:\n%s", cut, msg)
		}
		d := seconds(t, ffprobe(t, out).Format.Duration)
		if d < full.Duration.Seconds()-1.1 {
			t.Errorf("cut at %d: ffprobe duration %.3f s of %.3f", cut, d, full.Duration.Seconds())
		}
	}

	// A power loss can leave zeroed blocks after the last good fragment.
	zeroed := append(whole[:len(whole):len(whole)], make([]byte, 4096)...)
	path := filepath.Join(dir, "zeroed.mp4")
	if err := os.WriteFile(path, zeroed, 0o644); err != nil {
		t.Fatal(err)
	}
	if info, err := Finalize(path, filepath.Join(dir, "zeroed-out.mp4")); err != nil || info.Ignored != 4096 || info.Duration != full.Duration {
		t.Errorf("zeroed tail: %+v, %v", info, err)
	}

	// Cut inside the first fragment: there is nothing to keep.
	if err := os.WriteFile(path, whole[:offs[2]+10], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Finalize(path, filepath.Join(dir, "empty.mp4")); !errors.Is(err, ErrNoMedia) {
		t.Errorf("cut in the first fragment: %v, want ErrNoMedia", err)
	}
}

func TestOpusRecording(t *testing.T) {
	v, a := testH264(t), testOpus(t)
	dir := t.TempDir()
	frag, out := filepath.Join(dir, "frag.mp4"), filepath.Join(dir, "out.mp4")
	writeFragmented(t, frag, &v, &a, 40*time.Millisecond)
	if msg := ffmpegDecodeErrors(t, frag); msg != "" {
		t.Fatalf("fragmented opus file:\n%s", msg)
	}
	info, err := Finalize(frag, out)
	if err != nil {
		t.Fatal(err)
	}
	if info.AudioCodec != "Opus" || info.AudioSamples != len(a.frames) {
		t.Errorf("%+v", info)
	}
	if msg := ffmpegDecodeErrors(t, out); msg != "" {
		t.Fatalf("finalised opus file:\n%s", msg)
	}
	p := ffprobe(t, out)
	t.Logf("%+v", p)
	if d := seconds(t, p.Format.Duration); math.Abs(d-10) > 0.1 {
		t.Errorf("duration %.3f s, want 10 ± 0.1", d)
	}
	if len(p.Streams) != 2 || p.Streams[1].CodecName != "opus" {
		t.Errorf("streams %+v, want h264 and opus", p.Streams)
	}
}

func TestAudioOnlyRecording(t *testing.T) {
	for _, tc := range []struct {
		name  string
		audio func(testing.TB) testAudio
		codec string
	}{{"aac", testAAC, "aac"}, {"opus", testOpus, "opus"}} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.audio(t)
			dir := t.TempDir()
			frag, out := filepath.Join(dir, "frag.mp4"), filepath.Join(dir, "out.mp4")
			writeFragmented(t, frag, nil, &a, 0)
			if msg := ffmpegDecodeErrors(t, frag); msg != "" {
				t.Fatalf("fragmented:\n%s", msg)
			}
			info, err := Finalize(frag, out)
			if err != nil {
				t.Fatal(err)
			}
			if info.VideoSamples != 0 || info.AudioSamples != len(a.frames) {
				t.Errorf("%+v", info)
			}
			if msg := ffmpegDecodeErrors(t, out); msg != "" {
				t.Fatalf("finalised:\n%s", msg)
			}
			p := ffprobe(t, out)
			if len(p.Streams) != 1 || p.Streams[0].CodecName != tc.codec {
				t.Errorf("streams %+v, want only %s", p.Streams, tc.codec)
			}
			if d := seconds(t, p.Format.Duration); math.Abs(d-10) > 0.1 {
				t.Errorf("duration %.3f s, want 10 ± 0.1", d)
			}
		})
	}
}
