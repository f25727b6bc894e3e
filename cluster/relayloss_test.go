package cluster_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/server"
)

// watchAcross publishes alice over WHIP on a and has bob watch her over
// WHEP on b; it returns what bob gets, by kind, once both kinds flow, and
// alice's WHIP session URL on a.
func watchAcross(t *testing.T, a, b *server.Server, room string) (map[string]*seqs, string) {
	t.Helper()
	baseA, baseB := "http://"+a.HTTPAddr().String(), "http://"+b.HTTPAddr().String()
	pub := testpeer.NewPeer(t, testpeer.Options{})
	src, err := testpeer.NewSource("alice", 600, 25)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.AddTo(pub); err != nil {
		t.Fatal(err)
	}
	offer(t, pub)
	ans, whipSession, status := post(t, fmt.Sprintf("%s/whip/%d/%s/alice", baseA, app, room), "alice", pub)
	if status != http.StatusCreated {
		t.Fatalf("WHIP on A: %d %s", status, ans)
	}
	if err := pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans}); err != nil {
		t.Fatal(err)
	}
	ctx, stopSource := context.WithCancel(context.Background())
	t.Cleanup(stopSource)
	go src.Run(ctx)

	view := testpeer.NewPeer(t, testpeer.Options{})
	if err := testpeer.ReceiveAudioVideo(view); err != nil {
		t.Fatal(err)
	}
	got := map[string]*seqs{"audio": {}, "video": {}}
	view.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		s := got[tr.Kind().String()]
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			s.add(p.SequenceNumber, tr.Codec().MimeType)
		}
	})
	offer(t, view)
	testpeer.WaitFor(t, "the WHEP answer from B", 15*time.Second, func() bool {
		ans, _, status = post(t, fmt.Sprintf("%s/whep/%d/%s/alice?userId=bob", baseB, app, room), "bob", view)
		return status == http.StatusCreated
	})
	if err := view.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans}); err != nil {
		t.Fatal(err)
	}
	testpeer.WaitFor(t, "bob's first audio and video", 10*time.Second, func() bool {
		g1, _, _ := got["audio"].delivery()
		g2, _, _ := got["video"].delivery()
		return g1 > 0 && g2 > 0
	})
	return got, whipSession
}

// The link between the nodes loses 5 % of the media datagrams: node B
// notices the gaps, asks A for those packets again, and bob on B still gets
// at least 99 % of alice's packets.
func TestAViewerAcrossALossyRelayGetsNearlyEveryPacketThanksToNACKs(t *testing.T) {
	var sent, dropped atomic.Int64
	t.Cleanup(cluster.LoseDatagrams(func() bool { // runs after the nodes stop
		sent.Add(1)
		if rand.Float64() < 0.05 {
			dropped.Add(1)
			return true
		}
		return false
	}))
	redisURL := cluster.StartRedis(t)
	a := startNode(t, redisURL, "node-a")
	b := startNode(t, redisURL, "node-b")
	got, _ := watchAcross(t, a, b, "4713")
	time.Sleep(8 * time.Second)

	var n, span int
	for kind, s := range got {
		g, sp, ratio := s.delivery()
		n, span = n+g, span+sp
		t.Logf("%s (%s): %d of %d packets (%.2f%%)", kind, s.codec, g, sp, 100*ratio)
		if ratio < 0.99 {
			t.Errorf("%s delivery %.2f%% < 99%%", kind, 100*ratio)
		}
	}
	st := b.Cluster().RelayStats()
	s, d := sent.Load(), dropped.Load()
	without := float64(n-int(st.Late)) / float64(span)
	t.Logf("the link lost %d of %d datagrams (%.2f%%); B: %+v", d, s, 100*float64(d)/float64(s), st)
	t.Logf("bob got %.2f%% of the packets; without the %d that came late (resent) %.2f%%",
		100*float64(n)/float64(span), st.Late, 100*without)
	if s < 500 || float64(d) < 0.02*float64(s) {
		t.Fatalf("the link lost %d of %d datagrams: too few to test anything", d, s)
	}
	if st.NACKed < uint64(d)/2 || st.Late < uint64(d)/2 {
		t.Errorf("%d datagrams lost, but B asked for %d again and got %d late", d, st.NACKed, st.Late)
	}
	if without >= 0.99 {
		t.Errorf("without resends bob would still have %.2f%%: the loss did not hurt", 100*without)
	}
}
