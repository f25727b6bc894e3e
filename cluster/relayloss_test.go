package cluster_test

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/server"
)

// watchAcross publishes alice over WHIP on a and has bob watch her over
// WHEP on b; it returns what bob gets, by kind, once both kinds flow, and
// alice's WHIP session URL on a.
func watchAcross(t *testing.T, a, b *server.Server, room string) (map[string]*testpeer.Seqs, string) {
	t.Helper()
	session := testpeer.PublishWHIP(t, fmt.Sprintf("http://%s/whip/%d/%s/alice", a.HTTPAddr(), app, room), userSig("alice"), 600)
	got := testpeer.WatchWHEP(t, fmt.Sprintf("http://%s/whep/%d/%s/alice?userId=bob", b.HTTPAddr(), app, room), userSig("bob"))
	return got, session
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
	a, b := startTwoNodes(t)
	got, _ := watchAcross(t, a, b, "4713")
	time.Sleep(8 * time.Second)

	var n, span int
	for kind, s := range got {
		g, sp, ratio := s.Delivery()
		n, span = n+g, span+sp
		t.Logf("%s (%s): %d of %d packets (%.2f%%)", kind, s.Codec(), g, sp, 100*ratio)
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
	if total := b.Cluster().RelayTotals(); total.NACKed < st.NACKed || total.Late < st.Late || total.Stream < st.Stream {
		t.Errorf("B's totals (/metrics) %+v are below its running relays' %+v", total, st)
	}
	if without >= 0.99 {
		t.Errorf("without resends bob would still have %.2f%%: the loss did not hurt", 100*without)
	}
}
