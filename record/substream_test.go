package record

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trtcd/trtcd/rtpframe"
	"github.com/trtcd/trtcd/sfu"
)

// A recorded member who shares its screen gets the share recorded as a
// file of its own, as TRTC names it (<recordId>_aux_..., stream id ending
// _aux), H.264 alone; the share ending finishes that file after the resume
// window while the camera's recording goes on. A member recorded as audio
// only has no share recorded.
func TestAScreenShareIsRecordedBesideTheCamera(t *testing.T) {
	video, audio := benchMedia(t, 2)
	var rec *Recorder
	media, err := sfu.New(sfu.Config{Transport: sfu.TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true}, Logger: testLogger(),
		OnTrack: func(room, user string, src sfu.Source, published bool) {
			if src == sfu.SourceSub {
				rec.SubStream(room, user, published)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(media.Close)
	dir := t.TempDir()
	rec, err = New(Config{Dir: dir, SFU: media, ResumeWindow: time.Second, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()

	ctx, stopCameras := context.WithCancel(context.Background())
	defer stopCameras()
	cameras := make(chan struct{}, 2)
	for _, m := range []struct {
		user      string
		pureAudio int
	}{{"alice", 0}, {"bob", 1}} {
		cam, err := media.Join("room", m.user, sfu.SourceAudio, sfu.SourceMain)
		if err != nil {
			t.Fatal(err)
		}
		defer cam.Close()
		if err := rec.Start(Request{SDKAppID: 1, Room: "room", RoomKey: "room", UserID: m.user, RecordID: "lesson-" + m.user, PureAudio: m.pureAudio}); err != nil {
			t.Fatal(err)
		}
		go func() { sendUntil(ctx, cam, video, audio); cameras <- struct{}{} }()
		screen, err := media.Join("room", m.user, sfu.SourceSub) // beside the camera
		if err != nil {
			t.Fatal(err)
		}
		defer screen.Close()
		go sendScreen(screen, video) // 2 s, then the share ends
	}
	var share *File
	waitCond(t, "alice's share to be recorded and finished", 20*time.Second, func() bool {
		files, _ := rec.Files(func(f *File) bool { return f.Sub })
		if len(files) > 0 && files[0].State == StateDone {
			share = files[0]
		}
		return share != nil
	})
	if !rec.Recording("room", "alice") {
		t.Fatal("the share's end stopped the camera's recording")
	}
	stopCameras()
	<-cameras
	<-cameras
	rec.Close()

	index, err := OpenStore(filepath.Join(dir, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer index.Close()
	files, _ := index.Files(func(*File) bool { return true })
	byStream := map[string]*File{}
	for _, f := range files {
		byStream[f.StreamID] = f
	}
	if len(files) != 3 || byStream["1_room_alice_main"] == nil || byStream["1_room_bob_main"] == nil || byStream["1_room_alice_aux"] == nil {
		for _, f := range files {
			t.Logf("%+v", f)
		}
		t.Fatalf("%d files, want alice's camera, alice's screen, bob's audio", len(files))
	}
	share = byStream["1_room_alice_aux"]
	if !strings.HasPrefix(share.Name, "lesson-alice_aux_") || share.Duration < 1.5 || share.Duration > 2.5 {
		t.Errorf("the share's file is %s, %.2f s; want lesson-alice_aux_..., 2 s", share.Name, share.Duration)
	}
	if got := probeStreams(t, rec.path(share.Name)); got != "h264" {
		t.Errorf("the share's file has streams %q, want h264 alone", got)
	}
	if cam := byStream["1_room_alice_main"]; cam.State != StateDone || !strings.HasPrefix(cam.Name, "lesson-alice_main_") || !cam.End.After(share.End) {
		t.Errorf("alice's camera: %+v; want a file of its own that ended after the share", cam)
	} else if got := probeStreams(t, rec.path(cam.Name)); got != "h264,aac" {
		t.Errorf("the camera's file has streams %q, want h264 and aac", got)
	}
	if cb := buildCallback(CallbackConfig{}, share, "", time.Now()); cb.StreamID != "1_room_alice_aux" || !strings.Contains(cb.StreamParam, "recordid=lesson-alice") {
		t.Errorf("the share's callback: stream_id %q, stream_param %q", cb.StreamID, cb.StreamParam)
	}
}

// sendUntil publishes a camera (access units at 25 a second, their Opus
// every 20 ms, over and over) until ctx ends.
func sendUntil(ctx context.Context, pub *sfu.Session, video, audio [][]byte) {
	vt, _ := pub.PublishTrack("v", sfu.SourceMain, h264Codec, nil)
	at, _ := pub.PublishTrack("a", sfu.SourceAudio, sfu.Codec{MimeType: sfu.MimeOpus, ClockRate: 48000, Channels: 2}, nil)
	defer pub.Unpublish(vt)
	defer pub.Unpublish(at)
	vp, ap := rtpframe.Packetizer{PayloadType: 102, SSRC: 1}, rtpframe.Packetizer{PayloadType: 111, SSRC: 2}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ctx.Err() == nil; i++ {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		at.Write(ap.Packet(uint32(i*960), false, audio[i%len(audio)]))
		if i%2 == 0 {
			sendAU(&vp, vt, video[i/2%len(video)], uint32(i/2*3600))
		}
	}
}

// sendScreen publishes video as the sub-stream, once, at 25 pictures a
// second, and ends the share.
func sendScreen(pub *sfu.Session, video [][]byte) {
	t, _ := pub.PublishTrack("screen", sfu.SourceSub, h264Codec, nil)
	p := rtpframe.Packetizer{PayloadType: 102, SSRC: 3}
	tick := time.NewTicker(40 * time.Millisecond)
	defer tick.Stop()
	for i, au := range video {
		<-tick.C
		sendAU(&p, t, au, uint32(i*3600))
	}
	pub.Unpublish(t)
}

var h264Codec = sfu.Codec{MimeType: sfu.MimeH264, ClockRate: 90000, SDPFmtpLine: "packetization-mode=1"}

func sendAU(p *rtpframe.Packetizer, t *sfu.Track, au []byte, ts uint32) {
	nalus := splitAnnexB(au)
	for j, n := range nalus {
		p.PacketizeNALU(n, ts, j == len(nalus)-1, t.Write)
	}
}

// probeStreams lists a file's codecs as ffprobe sees them.
func probeStreams(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", filepath.Base(path), err, out)
	}
	return strings.Join(strings.Fields(string(out)), ",")
}

func waitCond(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
	}
}
