package sfu

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/testpeer"
)

// A client that offers a data channel gets an answer rejecting it, and its
// media as before: pion kept every channel a client opened, with its label
// of up to 64 KB, until the session ended (1,000 channels with 60 KB
// labels grew the server by 144 MB).
func TestADataChannelIsRefused(t *testing.T) {
	s := startSFU(t)
	publish(t, s, "room-dc", "alice", testpeer.Options{})
	publishedVideo(t, s, "room-dc", "alice")
	pc := testpeer.NewPeer(t, testpeer.Options{})
	if err := testpeer.ReceiveAudioVideo(pc); err != nil {
		t.Fatal(err)
	}
	var video atomic.Int64
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			if tr.Kind() == webrtc.RTPCodecTypeVideo {
				video.Add(1)
			}
		}
	})
	dc, err := pc.CreateDataChannel("chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	var opened atomic.Bool
	dc.OnOpen(func() { opened.Store(true) })
	negotiateClient(t, pc, func(offer string) (string, error) {
		sess, answer, err := s.Subscribe(context.Background(), SubscribeRequest{Room: "room-dc", UserID: "mallory", Publisher: "alice",
			Offer: offer, AllowAudio: true, AllowVideo: true})
		if err == nil {
			t.Cleanup(sess.Close)
		}
		return answer, err
	})
	answer := pc.RemoteDescription().SDP
	if !strings.Contains(answer, "m=application 0 ") {
		t.Fatalf("the answer does not reject the data channel section:\n%s", answer)
	}
	waitFor(t, "video at the viewer", 10*time.Second, func() bool { return video.Load() > 50 })
	time.Sleep(500 * time.Millisecond) // SCTP would have opened the channel within a few round trips
	if opened.Load() {
		t.Fatal("the data channel opened")
	}
}
