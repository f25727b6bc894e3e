package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/codec"
	"github.com/trtcd/trtcd/internal/testffmpeg"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// requireFFmpeg skips a test that needs the ffmpeg CLI, unless the test
// command installed it and says so (TRTCD_REQUIRE_FFMPEG=1): then a missing
// ffmpeg fails.
func requireFFmpeg(t *testing.T) {
	t.Helper()
	testffmpeg.Require(t, "ffmpeg")
}

// ffmpegJob runs ffmpeg in the background; the test ends it.
type ffmpegJob struct {
	cmd    *exec.Cmd
	output bytes.Buffer
	done   chan error
}

func startFFmpeg(t *testing.T, args ...string) *ffmpegJob {
	t.Helper()
	j := &ffmpegJob{cmd: exec.Command("ffmpeg", append([]string{"-nostdin", "-hide_banner", "-loglevel", "error"}, args...)...), done: make(chan error, 1)}
	j.cmd.Stdout, j.cmd.Stderr = &j.output, &j.output
	if err := j.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { j.done <- j.cmd.Wait() }()
	t.Cleanup(func() {
		j.cmd.Process.Kill()
		<-j.done
	})
	return j
}

// wait returns ffmpeg's exit error (nil for success) within d.
func (j *ffmpegJob) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-j.done:
		j.done <- err
		return err
	case <-time.After(d):
		t.Fatalf("ffmpeg still runs after %s: %s", d, j.output.String())
		return nil
	}
}

// pushArgs is a live-pusher stand-in: H.264 test pattern and a 440 Hz tone
// in AAC, pushed over RTMP in real time.
func pushArgs(url, seconds string, extra ...string) []string {
	args := []string{"-re", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=15", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", seconds, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "baseline", "-tune", "zerolatency", "-b:v", "600k", "-g", "30", "-c:a", "aac"}
	args = append(args, extra...)
	return append(args, "-f", "flv", url)
}

// received is what a WebRTC viewer got.
type received struct {
	mu          sync.Mutex
	videoCodec  string
	videoPkts   int
	audioCodec  string
	opus        [][]byte
	audioFrames int
}

// whepViewer plays a publisher over WHEP with a pion client and records
// the video packet count and the Opus payloads.
func whepViewer(t *testing.T, base, room, publisher, viewer string) *received {
	t.Helper()
	pc := testpeer.NewPeer(t, testpeer.Options{})
	if err := testpeer.ReceiveAudioVideo(pc); err != nil {
		t.Fatal(err)
	}
	r := &received{}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			r.mu.Lock()
			if tr.Kind() == webrtc.RTPCodecTypeVideo {
				r.videoCodec = tr.Codec().MimeType
				r.videoPkts++
			} else {
				r.audioCodec = tr.Codec().MimeType
				r.opus = append(r.opus, append([]byte(nil), p.Payload...))
			}
			r.mu.Unlock()
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	pc.SetLocalDescription(offer)
	<-gathered
	url := fmt.Sprintf("%s/whep/%d/%s/%s?userId=%s", base, app, room, publisher, viewer)
	var answer string
	testpeer.WaitFor(t, "the WHEP answer", 15*time.Second, func() bool {
		req, _ := http.NewRequest("POST", url, strings.NewReader(pc.LocalDescription().SDP))
		req.Header.Set("Content-Type", "application/sdp")
		req.Header.Set("Authorization", "Bearer "+userSig(viewer))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answer = string(b)
		return resp.StatusCode == http.StatusCreated
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	return r
}

func userSig(user string) string {
	return tlssig.GenUserSig(appKey, app, user, time.Hour, time.Now())
}

func (r *received) snapshot() (videoCodec string, videoPkts int, audioCodec string, opus [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.videoCodec, r.videoPkts, r.audioCodec, append([][]byte(nil), r.opus...)
}

// dominantFrequency decodes Opus packets and finds the strongest tone
// between 100 and 2000 Hz with a Goertzel scan in 2 Hz steps.
func dominantFrequency(t *testing.T, packets [][]byte) float64 {
	t.Helper()
	dec, err := codec.NewOpusDecoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var pcm []float64
	buf := make([]int16, codec.OpusMaxFrameSamples)
	for _, p := range packets {
		n, err := dec.Decode(p, buf)
		if err != nil {
			continue
		}
		for _, s := range buf[:n] {
			pcm = append(pcm, float64(s))
		}
	}
	if len(pcm) < 48000/2 {
		t.Fatalf("only %d samples of audio decoded", len(pcm))
	}
	pcm = pcm[len(pcm)/4:] // past the encoder's start-up
	best, bestPower := 0.0, 0.0
	for f := 100.0; f <= 2000; f += 2 {
		if p := goertzel(pcm, f, 48000); p > bestPower {
			best, bestPower = f, p
		}
	}
	return best
}

func goertzel(x []float64, freq, rate float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/rate)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+coeff*s1-s2, s1
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}

// ffprobeStreams returns the codec names ffprobe finds in url.
func ffprobeStreams(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", url).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", url, err, out)
	}
	return strings.Join(strings.Fields(string(out)), ",")
}
