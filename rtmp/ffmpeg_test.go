package rtmp

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testffmpeg"
	"github.com/trtcd/trtcd/internal/testlog"
	"github.com/trtcd/trtcd/rtmp/flv"
)

// One story: ffmpeg publishes 3 s of H.264 + AAC, ffmpeg plays it back,
// and a refused ffmpeg publisher fails.
func TestFFmpeg(t *testing.T) {
	testffmpeg.Require(t, "ffmpeg")
	rec := &recorder{}
	_, addr := startServer(t, rec, Limits{})

	t.Run("publish", func(t *testing.T) {
		out, err := testffmpeg.Run(t, "-v", "error", "-re",
			"-f", "lavfi", "-i", "testsrc=size=320x240:rate=15",
			"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
			"-t", "3", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "baseline", "-g", "15",
			"-c:a", "aac", "-f", "flv", fmt.Sprintf("rtmp://%s/live/stream?x=1", addr))
		if err != nil {
			t.Fatalf("ffmpeg push: %v\n%s", err, out)
		}
		tags, publishes, closed := rec.snapshot()
		if len(publishes) != 1 || publishes[0] != "live/stream?x=1" || closed != 1 {
			t.Fatalf("publishes %v, closes %d", publishes, closed)
		}
		checkPushedTags(t, tags)
		rec.mu.Lock()
		rec.playTags = tags
		rec.mu.Unlock()
	})

	t.Run("play", func(t *testing.T) {
		if len(rec.playTags) == 0 {
			t.Skip("nothing was published")
		}
		out, err := testffmpeg.Run(t, "-v", "error", "-i", fmt.Sprintf("rtmp://%s/live/stream", addr), "-t", "2", "-f", "null", "-")
		if err != nil || strings.TrimSpace(out) != "" {
			t.Fatalf("ffmpeg play: %v\n%s", err, out)
		}
	})

	t.Run("refused publish", func(t *testing.T) {
		rec.mu.Lock()
		rec.refuse = &StatusError{Code: "NetStream.Publish.BadName", Description: "70001 stream name taken"}
		rec.publishes = nil
		rec.mu.Unlock()
		out, err := testffmpeg.Run(t, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=15", "-t", "2",
			"-pix_fmt", "yuv420p", "-c:v", "libx264", "-f", "flv", fmt.Sprintf("rtmp://%s/live/taken", addr))
		if err == nil {
			t.Fatalf("ffmpeg succeeded publishing to a refused stream\n%s", out)
		}
		if _, publishes, _ := rec.snapshot(); len(publishes) != 1 || publishes[0] != "live/taken?" {
			t.Fatalf("handler saw %v", publishes)
		}
		if !strings.Contains(out, "70001 stream name taken") {
			t.Logf("ffmpeg output does not show our description:\n%s", out)
		}
	})
}

// ffmpeg, playing a stream whose publisher has not come, is sent nothing
// but the server's pings. It answers them and stays, while players that
// answer nothing are closed; once it stops answering (SIGSTOP: a hung or
// vanished peer whose socket stays open), it is closed too.
func TestFFmpegWaitingPlayerStaysWhileItAnswersPings(t *testing.T) {
	ffmpeg := testffmpeg.Path(t, "ffmpeg")
	h := newWaiter()
	_, addr := startServer(t, h, Limits{PingInterval: 200 * time.Millisecond, ReadTimeout: 2 * time.Second})
	var out testlog.Buffer // written by exec's copying goroutine
	cmd := exec.Command(ffmpeg, "-nostdin", "-v", "error", "-i", fmt.Sprintf("rtmp://%s/live/waiting", addr), "-f", "null", "-")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waiting := h.playing(t, "waiting")

	// Each silent player plays after the previous one was closed, so by the
	// time the second is closed, ffmpeg would have been closed long before
	// had its answers not counted.
	for _, name := range []string{"silent-1", "silent-2"} {
		c := dialClient(t, addr)
		sid := c.connect("live", "rtmp://127.0.0.1/live")
		c.command(sid, "play", 3.0, nil, name)
		h.playing(t, name)
		if !closedByServer(c.nc) {
			t.Fatalf("%s, which answers no ping, was not closed", name)
		}
	}
	if waiting.Err() != nil {
		t.Fatalf("ffmpeg, which answers pings, was closed\n%s", out.String())
	}

	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waiting.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("a stopped ffmpeg player was not closed")
	}
}

// checkPushedTags asserts what ffmpeg's FLV muxer sends: metadata, an AVC
// sequence header, keyframes every 15 frames, an AAC sequence header and
// ~43 AAC frames a second, with timestamps spanning about 3 s.
func checkPushedTags(t *testing.T, tags []flv.Tag) {
	t.Helper()
	var (
		meta, avcHeader, aacHeader bool
		keyframes, frames, aac     int
		lastVideo, lastAudio       uint32
	)
	for _, tag := range tags {
		switch tag.Type {
		case flv.TagScript:
			vals, err := DecodeAMF0(tag.Data)
			meta = meta || (err == nil && len(vals) > 0 && vals[0] == "onMetaData")
		case flv.TagVideo:
			v, err := flv.ParseVideoTag(tag.Data)
			if err != nil {
				t.Fatalf("video tag: %v", err)
			}
			if tag.Timestamp < lastVideo {
				t.Fatalf("video timestamp went back: %d after %d", tag.Timestamp, lastVideo)
			}
			lastVideo = tag.Timestamp
			switch v.AVCPacketType {
			case flv.AVCSequenceHeader:
				c, err := flv.ParseAVCConfig(v.Data)
				if err != nil || c.Profile != 66 {
					t.Fatalf("AVC config %+v, %v; want baseline (66)", c, err)
				}
				avcHeader = true
			case flv.AVCNALU:
				if !avcHeader {
					t.Fatal("video frame before the sequence header")
				}
				if _, err := flv.SplitAVCC(v.Data, 4); err != nil {
					t.Fatal(err)
				}
				frames++
				if v.Keyframe() {
					keyframes++
				}
			}
		case flv.TagAudio:
			a, err := flv.ParseAudioTag(tag.Data)
			if err != nil {
				t.Fatalf("audio tag: %v", err)
			}
			lastAudio = max(lastAudio, tag.Timestamp)
			if a.AACPacketType == flv.AACSequenceHeader {
				c, err := flv.ParseAudioSpecificConfig(a.Data)
				if err != nil || c.SampleRate != 44100 || c.ObjectType != flv.AACLC {
					t.Fatalf("AAC config %+v, %v", c, err)
				}
				aacHeader = true
			} else {
				aac++
			}
		}
	}
	t.Logf("%d tags: %d video frames (%d key), %d AAC frames, last video %d ms, last audio %d ms",
		len(tags), frames, keyframes, aac, lastVideo, lastAudio)
	if !meta || !avcHeader || !aacHeader {
		t.Fatalf("metadata %v, AVC header %v, AAC header %v", meta, avcHeader, aacHeader)
	}
	if frames < 40 || keyframes < 3 || aac < 100 {
		t.Fatalf("too few frames for 3 s")
	}
	if lastVideo < 2500 || lastVideo > 3500 || lastAudio < 2500 || lastAudio > 3500 {
		t.Fatalf("timestamps do not span ~3 s")
	}
}
