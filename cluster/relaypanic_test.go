package cluster_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/internal/testpeer"
)

// A relay stream that panics on the publisher's node (a bug that one of
// its packets reaches) ends that stream only: the panic is counted, the
// other kind plays on at the viewer, the broken kind is relayed again, and
// the nodes keep their one relay connection.
func TestAPanicOnARelayStreamEndsOnlyThatStream(t *testing.T) {
	a, b := startTwoNodes(t)
	got, _ := watchAcross(t, a, b, "4715")
	testpeer.WaitFor(t, "audio and video on B", 5*time.Second, func() bool {
		return got["audio"].Packets() > 20 && got["video"].Packets() > 20
	})
	before := panics.Count(panics.Relay)
	for _, s := range got {
		s.Pause() // from here on
	}
	seen := map[string]int{"audio": got["audio"].Packets(), "video": got["video"].Packets()}
	var armed atomic.Bool
	armed.Store(true)
	// The hook runs on A's relay stream for every datagram it sends.
	t.Cleanup(cluster.LoseDatagrams(func() bool {
		if armed.CompareAndSwap(true, false) {
			panic("test: a bug on a relay stream")
		}
		return false
	}))
	testpeer.WaitFor(t, "the panic, and 100 more packets of each kind on B", 10*time.Second, func() bool {
		return panics.Count(panics.Relay) > before &&
			got["audio"].Packets() > seen["audio"]+100 && got["video"].Packets() > seen["video"]+100
	})
	if n := panics.Count(panics.Relay) - before; n != 1 {
		t.Fatalf("%v relay panics counted, want 1", n)
	}
	// One kind's stream was set up again (a pause of retryDelay at least);
	// the other went on as if nothing happened.
	pauses := map[string]time.Duration{"audio": got["audio"].Pause(), "video": got["video"].Pause()}
	t.Logf("longest pauses at the viewer since the panic: %v", pauses)
	if min(pauses["audio"], pauses["video"]) > time.Second {
		t.Errorf("both kinds paused for over a second (%v): the panic reached beyond its stream", pauses)
	}
	if peers := b.Cluster().PeerStats(); len(peers) != 1 {
		t.Fatalf("B has %d relay connections, want the 1 it had: %+v", len(peers), peers)
	}
}
