package cluster_test

import (
	"testing"
	"time"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/testpeer"
)

// alice publishes on a and bob watches on b: her media crosses sealed on
// the media path, beside QUIC, and none of it in QUIC datagrams.
func TestMediaBetweenNodesTravelsSealedBesideQUIC(t *testing.T) {
	a, b := startTwoNodes(t)
	got, _ := watchAcross(t, a, b, "4716")
	testpeer.WaitFor(t, "audio and video on B", 10*time.Second, func() bool {
		return got["audio"].Packets() > 50 && got["video"].Packets() > 50
	})
	st := b.Cluster().RelayStats()
	t.Logf("B: %+v", st)
	if st.Sealed < 100 || st.Datagrams != 0 {
		t.Errorf("B got %d packets sealed and %d in QUIC datagrams; want them all sealed", st.Sealed, st.Datagrams)
	}
	if total := b.Cluster().RelayTotals(); total.Forged != 0 || total.Replayed != 0 {
		t.Errorf("B dropped %d forged and %d replayed sealed datagrams on a clean link", total.Forged, total.Replayed)
	}
	if _, out := a.Cluster().RelayedPackets(); out < st.Sealed {
		t.Errorf("A counts %d packets sent, B %d received", out, st.Sealed)
	}
}

// A node of the previous version sends no sealed media although its peer
// asks for it: the media crosses in QUIC datagrams, as before.
func TestMediaFromANodeThatDoesNotSealComesInQUICDatagrams(t *testing.T) {
	t.Cleanup(cluster.SealNothing())
	a, b := startTwoNodes(t)
	got, _ := watchAcross(t, a, b, "4717")
	testpeer.WaitFor(t, "audio and video on B", 10*time.Second, func() bool {
		return got["audio"].Packets() > 50 && got["video"].Packets() > 50
	})
	st := b.Cluster().RelayStats()
	t.Logf("B: %+v", st)
	if st.Datagrams < 100 || st.Sealed != 0 {
		t.Errorf("B got %d packets in QUIC datagrams and %d sealed; want them all in datagrams", st.Datagrams, st.Sealed)
	}
}
