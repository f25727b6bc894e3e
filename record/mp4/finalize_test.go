package mp4

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

func TestBFramesKeepTheirPresentationTimes(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	frag, out := filepath.Join(dir, "frag.mp4"), filepath.Join(dir, "out.mp4")
	f, _ := os.Create(frag)
	fw, err := NewFragmentWriter(f, H264Track(testSPS, testPPS))
	if err != nil {
		t.Fatal(err)
	}
	// Decode order I0 P3 B1 B2 P6 B4 B5 …: presented two frames late.
	order := []int{0, 3, 1, 2, 6, 4, 5, 9, 7, 8}
	for i, idx := range order {
		dts := time.Duration(i) * 40 * time.Millisecond
		pts := time.Duration(idx)*40*time.Millisecond + 80*time.Millisecond
		if err := fw.WriteVideoDTS([]byte{0, 0, 0, 1, 0x65}, dts, pts, i == 0); err != nil {
			t.Fatal(err)
		}
	}
	fw.Close()
	f.Close()
	if _, err := Finalize(frag, out); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time",
		"-of", "csv=p=0", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := ""
	for _, idx := range order {
		want += fmt.Sprintf("%.6f\n", float64(idx)*0.04)
	}
	if string(got) != want {
		t.Errorf("presentation times\n%s\nwant (the first frame at 0)\n%s", got, want)
	}
}

func TestMutedAudioLeavesAGapNotADrift(t *testing.T) {
	v, a := testH264(t), testAAC(t)
	dir := t.TempDir()
	frag, out := filepath.Join(dir, "frag.mp4"), filepath.Join(dir, "out.mp4")
	f, _ := os.Create(frag)
	fw, err := NewFragmentWriter(f, H264Track(v.sps, v.pps), a.track)
	if err != nil {
		t.Fatal(err)
	}
	// The publisher mutes from 3 s to 5 s: no audio frames, video goes on.
	muted := a
	muted.frames, muted.durs = nil, nil
	skipped := 0
	pos := 0
	for i, fr := range a.frames {
		at := float64(pos) / 48000
		pos += a.durs[i]
		if at >= 3 && at < 5 {
			skipped++
			// Keep the clock: the next frame's time jumps over the gap.
			muted.durs[len(muted.durs)-1] += a.durs[i]
			continue
		}
		muted.frames = append(muted.frames, fr)
		muted.durs = append(muted.durs, a.durs[i])
	}
	writeRecording(t, fw, &v, &muted, 40*time.Millisecond)
	fw.Close()
	f.Close()
	info, err := Finalize(frag, out)
	if err != nil {
		t.Fatal(err)
	}
	if info.AudioSamples != len(a.frames)-skipped {
		t.Errorf("%d audio samples, want %d", info.AudioSamples, len(a.frames)-skipped)
	}
	if msg := ffmpegDecodeErrors(t, out); msg != "" {
		t.Fatalf("ffmpeg:\n%s", msg)
	}
	// The audio still ends with the video: the gap did not shift it.
	got, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "a", "-show_entries", "packet=pts_time",
		"-of", "csv=p=0", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(got))
	want := float64(pos-a.durs[len(a.durs)-1]) / 48000
	if last := seconds(t, lines[len(lines)-1]); math.Abs(last-want) > 0.001 {
		t.Errorf("last audio frame at %.4f s, written at %.4f s", last, want)
	}
}
