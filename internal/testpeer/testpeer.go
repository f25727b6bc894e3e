// Package testpeer is package peer for tests: real pion WebRTC clients on
// loopback that fail the test instead of returning errors and close when
// it ends. It imports testing, so only tests may link it; the bench uses
// peer itself.
package testpeer

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/peer"
)

// Options for a client (peer.Options).
type Options = peer.Options

// Source is a synthetic camera and microphone (peer.Source).
type Source = peer.Source

// NewSource makes a source's two tracks (peer.NewSource).
func NewSource(streamID string, bitrateKbps, fps int) (*Source, error) {
	return peer.NewSource(streamID, bitrateKbps, fps)
}

// ReceiveAudioVideo makes pc ask for one video and one audio track.
func ReceiveAudioVideo(pc *webrtc.PeerConnection) error { return peer.ReceiveAudioVideo(pc) }

// WaitFor polls cond until it holds, failing the test after d.
func WaitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// NewPeer makes a loopback client PeerConnection that the test closes when
// it ends.
func NewPeer(t testing.TB, o Options) *webrtc.PeerConnection {
	t.Helper()
	api, err := peer.API(o)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}
