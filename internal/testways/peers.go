package testways

import (
	"sync/atomic"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/testpeer"
)

// Offer makes a real pion client and its offer, all candidates gathered:
// sending audio and video from a synthetic source (send) or receiving
// them. The source is nil for a receiver; the test runs it.
func Offer(t testing.TB, send bool, o testpeer.Options) (*webrtc.PeerConnection, string, *testpeer.Source) {
	t.Helper()
	pc := testpeer.NewPeer(t, o)
	var src *testpeer.Source
	var err error
	if send {
		if src, err = testpeer.NewSource("s", 600, 25); err == nil {
			err = src.AddTo(pc)
		}
	} else {
		err = testpeer.ReceiveAudioVideo(pc)
	}
	if err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-done
	return pc, pc.LocalDescription().SDP, src
}

// CountFrames counts the video frames (marker bits) pc receives.
func CountFrames(pc *webrtc.PeerConnection) *atomic.Int64 {
	var frames atomic.Int64
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if tr.Kind() == webrtc.RTPCodecTypeVideo && p.Marker {
				frames.Add(1)
			}
		}
	})
	return &frames
}
