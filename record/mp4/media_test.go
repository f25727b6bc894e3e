package mp4

import (
	"encoding/binary"
	"encoding/json"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testffmpeg"
)

// Real media for the tests, made by ffmpeg and split the way the recorder
// receives it: H.264 access units in AVCC form, raw AAC frames, Opus packets.

// requireFFmpeg skips a test when ffmpeg or ffprobe is missing, unless
// TRTCD_REQUIRE_FFMPEG=1 makes that a failure.
func requireFFmpeg(t testing.TB) {
	t.Helper()
	testffmpeg.Require(t, "ffmpeg", "ffprobe")
}

// runFFmpeg returns the stream ffmpeg writes to stdout.
func runFFmpeg(t testing.TB, args ...string) []byte {
	t.Helper()
	return testffmpeg.Output(t, args...)
}

type videoAU struct {
	data     []byte // AVCC
	keyframe bool
}

type testVideo struct {
	sps, pps []byte
	aus      []videoAU
}

var (
	videoOnce sync.Once
	videoData testVideo
)

// testH264 is 10 s of 640x360 25 fps baseline H.264 with a keyframe every
// 2 s, like a WebRTC publisher's.
func testH264(t testing.TB) testVideo {
	requireFFmpeg(t)
	videoOnce.Do(func() {
		es := runFFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25", "-t", "10",
			"-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-g", "50", "-f", "h264", "-")
		videoData = splitAnnexB(es)
	})
	if len(videoData.aus) == 0 {
		t.Fatal("no H.264 access units")
	}
	return videoData
}

// splitAnnexB cuts an Annex B stream into access units: a new one begins
// at a parameter set, SEI or delimiter after a slice, or at a slice whose
// first_mb_in_slice is 0. SPS and PPS go to the sample entry.
func splitAnnexB(es []byte) testVideo {
	var v testVideo
	var cur []byte
	key, hasSlice := false, false
	emit := func() {
		if hasSlice {
			v.aus = append(v.aus, videoAU{data: cur, keyframe: key})
		}
		cur, key, hasSlice = nil, false, false
	}
	for _, nal := range annexBNALUs(es) {
		typ := nal[0] & 0x1f
		switch {
		case typ == 7 || typ == 8 || typ == 6 || typ == 9:
			if hasSlice {
				emit()
			}
		case (typ == 1 || typ == 5) && len(nal) > 1 && nal[1]&0x80 != 0 && hasSlice:
			emit()
		}
		switch typ {
		case 7:
			v.sps = nal
			continue
		case 8:
			v.pps = nal
			continue
		case 9:
			continue
		case 5:
			key = true
			fallthrough
		case 1:
			hasSlice = true
		}
		cur = binary.BigEndian.AppendUint32(cur, uint32(len(nal)))
		cur = append(cur, nal...)
	}
	emit()
	return v
}

func annexBNALUs(es []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+2 < len(es); i++ {
		if es[i] == 0 && es[i+1] == 0 && es[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && es[end-1] == 0 {
					end-- // the 4-byte start code's leading zero
				}
				nals = append(nals, es[start:end])
			}
			start = i + 3
			i += 2
		}
	}
	if start >= 0 && start < len(es) {
		nals = append(nals, es[start:])
	}
	return nals
}

type testAudio struct {
	track  TrackInfo
	frames [][]byte
	durs   []int // samples per frame, at track.SampleRate
}

// testAAC is 10 s of a 440 Hz tone as raw AAC-LC frames at 48 kHz.
func testAAC(t testing.TB) testAudio {
	requireFFmpeg(t)
	adts := runFFmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "10",
		"-c:a", "aac", "-b:a", "64k", "-f", "adts", "-")
	var a testAudio
	for len(adts) >= 7 {
		if adts[0] != 0xff || adts[1]&0xf0 != 0xf0 {
			t.Fatal("lost ADTS sync")
		}
		if a.frames == nil {
			profile, sri, ch := adts[2]>>6, adts[2]>>2&0xf, (adts[2]&1)<<2|adts[3]>>6
			asc := []byte{(profile+1)<<3 | sri>>1, sri<<7 | ch<<3}
			a.track = AACTrack(asc)
		}
		hdr := 7
		if adts[1]&1 == 0 {
			hdr = 9 // CRC present
		}
		n := int(adts[3]&3)<<11 | int(adts[4])<<3 | int(adts[5]>>5)
		if n < hdr || n > len(adts) {
			t.Fatal("bad ADTS frame length")
		}
		a.frames = append(a.frames, adts[hdr:n])
		a.durs = append(a.durs, 1024)
		adts = adts[n:]
	}
	return a
}

// writeRecording feeds the media in time order, as the recorder would:
// audio from the origin, video starting videoStart later.
func writeRecording(t testing.TB, fw *FragmentWriter, v *testVideo, a *testAudio, videoStart time.Duration) {
	t.Helper()
	vi, ai, audioPos := 0, 0, 0
	for {
		vt, at := time.Duration(1<<62), time.Duration(1<<62)
		if v != nil && vi < len(v.aus) {
			vt = videoStart + time.Duration(vi)*40*time.Millisecond
		}
		if a != nil && ai < len(a.frames) {
			at = time.Duration(audioPos) * time.Second / time.Duration(a.track.SampleRate)
		}
		switch {
		case vt == 1<<62 && at == 1<<62:
			return
		case vt <= at:
			if err := fw.WriteVideo(v.aus[vi].data, vt, v.aus[vi].keyframe); err != nil {
				t.Fatal(err)
			}
			vi++
		default:
			if err := fw.WriteAudio(a.frames[ai], at); err != nil {
				t.Fatal(err)
			}
			audioPos += a.durs[ai]
			ai++
		}
	}
}

// ffmpegDecodeErrors decodes the whole file and returns what ffmpeg says;
// nothing means it decoded cleanly.
func ffmpegDecodeErrors(t testing.TB, path string) string {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil {
		return err.Error() + ": " + string(out)
	}
	return string(out)
}

type probeResult struct {
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		CodecName string `json:"codec_name"`
		CodecType string `json:"codec_type"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
		StartTime string `json:"start_time"`
	} `json:"streams"`
}

func ffprobe(t testing.TB, path string) probeResult {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries",
		"format=duration:stream=codec_name,codec_type,width,height,start_time", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probeResult
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output %q: %v", out, err)
	}
	return p
}

func seconds(t testing.TB, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("not a number of seconds: %q", s)
	}
	return f
}
