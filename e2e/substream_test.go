package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/record"
	"github.com/trtcd/trtcd/server"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// A member who shares its screen (a pion client sending real H.264 as the
// sub-stream, beside its WHIP camera) is played as "..._aux" over HTTP-FLV
// and RTMP: ffprobe sees the screen's H.264 alone (the sub-stream has no
// audio), and ffmpeg decodes it without an error.
func TestAScreenSharePlaysAsTheAuxStream(t *testing.T) {
	requireFFmpeg(t)
	srv := startTrtcd(t)
	base := "http://" + srv.HTTPAddr().String()
	publishFiles(t, base, "7500", "alice", "")
	sfuScreenShare(t, srv, 7500, "alice", 4, true)

	stream := fmt.Sprintf("%d_7500_alice_aux", app)
	viewer := "?userid=viewer&usersig=" + userSig("viewer")
	for _, url := range []string{base + "/live/" + stream + ".flv" + viewer, "rtmp://" + srv.RTMPAddr().String() + "/live/" + stream + viewer} {
		if got := ffprobeStreams(t, url); got != "h264" {
			t.Fatalf("ffprobe %s found %q, want the screen's h264 alone", url, got)
		}
		play := startFFmpeg(t, "-i", url, "-t", "3", "-f", "null", "-")
		if err := play.wait(t, 20*time.Second); err != nil || strings.TrimSpace(play.output.String()) != "" {
			t.Fatalf("ffmpeg could not decode %s: %v\n%s", url, err, play.output.String())
		}
	}
}

// A member who enters with a recordId and shares its screen for 6 s gets
// the share recorded as a file of its own: a callback whose stream_id ends
// "_aux" and whose video_url downloads 6 s of H.264 that ffmpeg decodes.
// The camera's recording goes on through the share and ends with the
// camera, with its own callback.
func TestAScreenShareIsRecordedAsItsOwnFile(t *testing.T) {
	requireFFmpeg(t)
	cb := newCallbackReceiver(t)
	srv := startRecordingTrtcd(t, cb.URL)
	base := "http://" + srv.HTTPAddr().String()
	camera := publishFiles(t, base, "7600", "alice", "?recordId=rec-share")
	share := sfuScreenShare(t, srv, 7600, "alice", 6, false)

	auxID, mainID := fmt.Sprintf("%d_7600_alice_aux", app), fmt.Sprintf("%d_7600_alice_main", app)
	aux := waitCallback(t, cb, auxID, 30*time.Second)
	<-share // its file ended well before the callback; the sender is done too
	camera.stop()
	main := waitCallback(t, cb, mainID, 20*time.Second)

	dir := t.TempDir()
	for _, c := range []record.Callback{aux, main} {
		checkSign(t, c)
		if c.FileFormat != "mp4" || !strings.Contains(c.StreamParam, "recordid=rec-share") || c.FileID == "" {
			t.Fatalf("callback %+v", c)
		}
	}
	if aux.FileID == main.FileID {
		t.Fatal("the share and the camera have one file")
	}
	p := probeFile(t, download(t, aux.VideoURL, dir))
	if len(p.Streams) != 1 || p.Streams[0].CodecName != "h264" {
		t.Fatalf("the share's recording has streams %+v, want h264 alone", p.Streams)
	}
	if d := p.duration(); d < 5.3 || d > 6.7 {
		t.Fatalf("the share's recording lasts %.2f s, want 6 ± 0.7", d)
	}
	if main.Duration <= aux.Duration || main.EndTime < aux.EndTime {
		t.Fatalf("the camera's recording (%d s, ended %d) did not go on past the share's (%d s, ended %d)",
			main.Duration, main.EndTime, aux.Duration, aux.EndTime)
	}
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if len(cb.got) != 2 {
		t.Fatalf("%d callbacks, want one per file", len(cb.got))
	}
}

// waitCallback waits for the callback of a stream id.
func waitCallback(t *testing.T, cb *callbackReceiver, streamID string, d time.Duration) record.Callback {
	t.Helper()
	var got record.Callback
	testpeer.WaitFor(t, "the callback of "+streamID, d, func() bool {
		cb.mu.Lock()
		defer cb.mu.Unlock()
		for _, c := range cb.got {
			if c.StreamID == streamID {
				got = c
				return true
			}
		}
		return false
	})
	return got
}

// sfuScreenShare shares a screen as user in a room of the test app: a pion
// client publishes seconds of real H.264 (made by ffmpeg) as the
// sub-stream, through the server's media plane, beside the member's camera
// (no way in publishes the sub-stream here); over and over until the test
// ends when repeat is set. The returned channel closes when the share has
// ended.
func sfuScreenShare(t *testing.T, srv *server.Server, room uint32, user string, seconds int, repeat bool) <-chan struct{} {
	t.Helper()
	h264 := filepath.Join(t.TempDir(), "screen.h264")
	if out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
		"-t", strconv.Itoa(seconds), "-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-g", "25",
		"-b:v", "400k", "-f", "h264", h264).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	pc := testpeer.NewPeer(t, testpeer.Options{})
	screen, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "screen", user+"-screen")
	if _, err := pc.AddTransceiverFromTrack(screen, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	testpeer.Offer(t, pc)
	key := trtc.RoomKey(app, tlssig.Room{ID: room})
	sess, answer, err := srv.Media().Publish(context.Background(), sfu.PublishRequest{Room: key, UserID: user,
		Offer: pc.LocalDescription().SDP, Video: []sfu.Source{sfu.SourceSub}, AllowAudio: true, AllowVideo: true, AllowSub: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	testpeer.WaitFor(t, "the screen publisher's connection", 10*time.Second, func() bool {
		return pc.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for { // over again from the file's first keyframe; the timestamps go on
			sendH264(ctx, h264, screen)
			if !repeat || ctx.Err() != nil {
				break
			}
		}
		sess.Close() // the share ends with its file
		pc.Close()
	}()
	t.Cleanup(func() { cancel(); <-done })
	return done
}
