package sfu

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testpeer"
)

// An offer whose client never connects (it drops the answer) holds its
// PeerConnection only until ConnectTimeout, not until pion's ICE gives up;
// a client that connects is kept past it.
func TestSessionThatNeverConnectsIsClosedAtTheConnectDeadline(t *testing.T) {
	s, err := New(Config{
		Transport:      TransportConfig{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", LoopbackOnly: true, Workers: *mediaWorkers},
		Logger:         slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		ConnectTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	abandoned := testpeer.NewPeer(t, testpeer.Options{})
	src, err := testpeer.NewSource("ghost", 800, 25)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.AddTo(abandoned); err != nil {
		t.Fatal(err)
	}
	testpeer.Offer(t, abandoned)
	ghost, _, err := s.Publish(context.Background(), PublishRequest{Room: "r", UserID: "ghost", Offer: abandoned.LocalDescription().SDP,
		MinBitrate: 400, MaxBitrate: 800, AllowAudio: true, AllowVideo: true})
	if err != nil {
		t.Fatal(err)
	}
	abandoned.Close() // the answer is never applied: no ICE check will come

	good := publish(t, s, "r", "alice", testpeer.Options{})
	select {
	case <-ghost.Done():
	case <-time.After(10 * time.Second): // pion alone would hold it 15 s
		t.Fatal("a session that never connected was not closed at its connect deadline")
	}
	time.Sleep(1500 * time.Millisecond) // past alice's own deadline
	select {
	case <-good.session.Done():
		t.Fatal("a connected session was closed by the connect deadline")
	default:
	}
}
