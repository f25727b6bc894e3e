package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// pushURL is the RTMP URL a live-pusher of user in room uses.
func pushURL(srvRTMP, room, user, query string) string {
	return fmt.Sprintf("rtmp://%s/live/%d_%s_%s_main?usersig=%s%s", srvRTMP, app, room, user, userSig(user), query)
}

// A live-pusher stand-in (ffmpeg: H.264 baseline + AAC) pushes into a room;
// a WebRTC viewer gets H.264 and Opus, and the Opus is the pusher's 440 Hz
// tone: the AAC really was decoded, resampled and encoded, for 44.1 kHz
// stereo and 48 kHz mono alike.
func TestRTMPPushReachesWebRTCViewer(t *testing.T) {
	requireFFmpeg(t)
	srv := startTrtcd(t)
	base := "http://" + srv.HTTPAddr().String()
	for i, audio := range [][]string{{"-ac", "2"}, {"-ar", "48000", "-ac", "1"}} {
		room := fmt.Sprint(6100 + i)
		push := startFFmpeg(t, pushArgs(pushURL(srv.RTMPAddr().String(), room, "pusher", ""), "12", audio...)...)
		viewer := whepViewer(t, base, room, "pusher", "viewer")
		testpeer.WaitFor(t, "video and 3 s of audio at the viewer", 15*time.Second, func() bool {
			_, v, _, opus := viewer.snapshot()
			return v > 100 && len(opus) > 150
		})
		vc, vn, ac, opus := viewer.snapshot()
		if vc != webrtc.MimeTypeH264 || ac != webrtc.MimeTypeOpus {
			t.Fatalf("%v: the viewer got %s and %s, want H.264 and Opus", audio, vc, ac)
		}
		f := dominantFrequency(t, opus)
		t.Logf("AAC %v: %d video packets, %d Opus packets, dominant frequency %.0f Hz", audio, vn, len(opus), f)
		if f < 430 || f > 450 {
			t.Fatalf("%v: the tone came out at %.0f Hz, want 440 ± 10", audio, f)
		}
		push.cmd.Process.Kill()
	}
}

// B-frames cannot be played by WebRTC: a push with them is ended with a
// clear reason and counted, and the server goes on serving.
func TestRTMPPushWithBFramesIsRefused(t *testing.T) {
	requireFFmpeg(t)
	srv := startTrtcd(t)
	push := startFFmpeg(t, pushArgs(pushURL(srv.RTMPAddr().String(), "6200", "bframes", ""), "10", "-profile:v", "main", "-bf", "2", "-tune", "film")...)
	if err := push.wait(t, 15*time.Second); err == nil {
		t.Fatal("a push with B-frames was accepted to the end")
	}
	metrics := get(t, "http://"+srv.HTTPAddr().String()+"/metrics")
	if !strings.Contains(metrics, "trtcd_rtmp_bframe_refusals_total 1") {
		t.Fatal("the B-frame refusal was not counted")
	}
	// The next, well-formed push works.
	startFFmpeg(t, pushArgs(pushURL(srv.RTMPAddr().String(), "6201", "baseline", ""), "10")...)
	viewer := whepViewer(t, "http://"+srv.HTTPAddr().String(), "6201", "baseline", "viewer")
	testpeer.WaitFor(t, "video after the refused push", 15*time.Second, func() bool { _, v, _, _ := viewer.snapshot(); return v > 50 })
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Pushes with a bad or missing userSig, a privateMapKey without the send
// bits, or a stream name of the wrong shape are refused, with the TRTC code
// in the status the client prints.
func TestRTMPPushRefusals(t *testing.T) {
	requireFFmpeg(t)
	srv := startTrtcd(t)
	addr := srv.RTMPAddr().String()
	noSend := tlssig.GenPrivateMapKey(appKey, app, "eve", time.Hour, time.Now(), tlssig.Room{ID: 6300}, tlssig.PrivAll&^(tlssig.PrivSendAudio|tlssig.PrivSendVideo))
	cases := []struct {
		name, url, code string
	}{
		{"a forged userSig", fmt.Sprintf("rtmp://%s/live/%d_6300_eve_main?usersig=%s", addr, app, tlssig.GenUserSig("wrong-key", app, "eve", time.Hour, time.Now())), "70346"},
		{"no userSig", fmt.Sprintf("rtmp://%s/live/%d_6300_eve_main", addr, app), "10004"},
		{"a privateMapKey without the send bits", pushURL(addr, "6300", "eve", "&privatemapkey="+noSend), "102013"},
		{"a stream name of the wrong shape", fmt.Sprintf("rtmp://%s/live/eve?usersig=%s", addr, userSig("eve")), "82"},
	}
	for _, c := range cases {
		push := startFFmpeg(t, pushArgs(c.url, "5")...)
		if err := push.wait(t, 10*time.Second); err == nil {
			t.Fatalf("%s: the push was accepted", c.name)
		}
		if out := push.output.String(); !strings.Contains(out, c.code) {
			t.Fatalf("%s: ffmpeg did not show code %s:\n%s", c.name, c.code, out)
		}
	}
}

// A WebRTC publisher (real H.264 and Opus made by ffmpeg, sent by a pion
// client over WHIP) is played over HTTP-FLV and RTMP: ffprobe sees H.264
// and AAC, and ffmpeg decodes five seconds without an error.
func TestWebRTCPublisherPlaysOverFLVAndRTMP(t *testing.T) {
	requireFFmpeg(t)
	srv := startTrtcd(t)
	base := "http://" + srv.HTTPAddr().String()
	publishFiles(t, base, "6400", "alice", "")
	stream := fmt.Sprintf("%d_6400_alice_main?userid=viewer&usersig=%s", app, userSig("viewer"))
	flvURL := fmt.Sprintf("%s/live/%d_6400_alice_main.flv?userid=viewer&usersig=%s", base, app, userSig("viewer"))
	rtmpURL := fmt.Sprintf("rtmp://%s/live/%s", srv.RTMPAddr().String(), stream)
	for _, url := range []string{flvURL, rtmpURL} {
		if got := ffprobeStreams(t, url); got != "h264,aac" && got != "aac,h264" {
			t.Fatalf("ffprobe %s found %q, want h264 and aac", url, got)
		}
		play := startFFmpeg(t, "-i", url, "-t", "5", "-f", "null", "-")
		if err := play.wait(t, 20*time.Second); err != nil || strings.TrimSpace(play.output.String()) != "" {
			t.Fatalf("ffmpeg could not decode %s: %v\n%s", url, err, play.output.String())
		}
	}
	// A viewer with a forged userSig is refused.
	forged := tlssig.GenUserSig("wrong-key", app, "viewer", time.Hour, time.Now())
	resp, err := http.Get(fmt.Sprintf("%s/live/%d_6400_alice_main.flv?userid=viewer&usersig=%s", base, app, forged))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an HTTP-FLV request with a forged userSig got %d", resp.StatusCode)
	}
}

// filePublisher is a pion WHIP client sending files made by ffmpeg.
type filePublisher struct {
	pc     *webrtc.PeerConnection
	cancel context.CancelFunc
	sent   sync.WaitGroup // the senders, until the end of their files
}

// stop ends the publish at once.
func (p *filePublisher) stop() { p.cancel(); p.pc.Close() }

// finish lets the files play to their end, then stops.
func (p *filePublisher) finish() { p.sent.Wait(); p.stop() }

// publishFiles makes 20 s of H.264 and Opus with ffmpeg and publishes them
// over WHIP (with query added to the URL) from a pion client until the test
// ends or the publisher is stopped.
func publishFiles(t *testing.T, base, room, user, query string) *filePublisher {
	t.Helper()
	dir := t.TempDir()
	h264, ogg := filepath.Join(dir, "v.h264"), filepath.Join(dir, "a.ogg")
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "testsrc=size=640x360:rate=25", "-t", "20", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "baseline",
			"-bf", "0", "-g", "25", "-b:v", "600k", "-f", "h264", h264},
		{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "20", "-c:a", "libopus", "-page_duration", "20000", "-frame_duration", "20", ogg},
	} {
		if out, err := exec.Command("ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
	}
	pc := testpeer.NewPeer(t, testpeer.Options{})
	video, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", user)
	audio, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", user)
	for _, tr := range []webrtc.TrackLocal{video, audio} {
		if _, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, _ := pc.CreateOffer(nil)
	gathered := webrtc.GatheringCompletePromise(pc)
	pc.SetLocalDescription(offer)
	<-gathered
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/whip/%d/%s/%s%s", base, app, room, user, query), strings.NewReader(pc.LocalDescription().SDP))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+userSig(user))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("WHIP: %d %s", resp.StatusCode, answer)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	// Media written before the connection is up is lost, and this sender,
	// unlike a browser, does not answer keyframe requests: start at the
	// file's first keyframe once connected.
	testpeer.WaitFor(t, "the WHIP publisher's connection", 10*time.Second, func() bool {
		return pc.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p := &filePublisher{pc: pc, cancel: cancel}
	p.sent.Add(2)
	go func() { defer p.sent.Done(); sendH264(ctx, h264, video) }()
	go func() { defer p.sent.Done(); sendOgg(ctx, ogg, audio) }()
	return p
}

// sendH264 sends an Annex-B file at 25 pictures a second: each sample is
// the NAL units up to and including one picture's slice.
func sendH264(ctx context.Context, path string, track *webrtc.TrackLocalStaticSample) {
	data, _ := os.ReadFile(path)
	r, err := h264reader.NewReader(bytes.NewReader(data))
	if err != nil {
		return
	}
	tick := time.NewTicker(40 * time.Millisecond)
	defer tick.Stop()
	var frame []byte
	for {
		nal, err := r.NextNAL()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			return
		}
		frame = append(frame, 0, 0, 0, 1)
		frame = append(frame, nal.Data...)
		if nal.UnitType != h264reader.NalUnitTypeCodedSliceIdr && nal.UnitType != h264reader.NalUnitTypeCodedSliceNonIdr {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		track.WriteSample(media.Sample{Data: frame, Duration: 40 * time.Millisecond})
		frame = nil
	}
}

// sendOgg sends an Ogg Opus file's 20 ms pages in real time.
func sendOgg(ctx context.Context, path string, track *webrtc.TrackLocalStaticSample) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		return
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		page, _, err := r.ParseNextPage()
		if err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		track.WriteSample(media.Sample{Data: page, Duration: 20 * time.Millisecond})
	}
}
