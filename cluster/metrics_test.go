package cluster

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/sfu"
)

// startTestNode starts a node with its own sfu, on redisURL.
func startTestNode(t *testing.T, ca *CA, redisURL, id string) *Node {
	t.Helper()
	media, err := sfu.New(sfu.Config{Transport: sfu.TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { media.Close() })
	n, err := Start(Config{NodeID: id, RedisURL: redisURL, RelayAddr: "127.0.0.1:0", Credentials: testCredentials(t, ca, id), SFU: media})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// gather collects c through a pedantic registry, which also checks that
// every metric matches a described one, and returns the families by name.
func gather(t *testing.T, c prometheus.Collector) map[string][]map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	// name → one map per series: label values under their names, the
	// value under "".
	out := map[string][]map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			s := map[string]float64{}
			for _, l := range m.GetLabel() {
				s[l.GetName()+"="+l.GetValue()] = 1
			}
			switch {
			case m.GetCounter() != nil:
				s[""] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				s[""] = m.GetGauge().GetValue()
			}
			out[mf.GetName()] = append(out[mf.GetName()], s)
		}
	}
	return out
}

func TestRelayMetricsShowThePeersANodeIsConnectedTo(t *testing.T) {
	ca := testCA(t)
	redisURL := StartRedis(t)
	a := startTestNode(t, ca, redisURL, "a")
	b := startTestNode(t, ca, redisURL, "b")
	// a pulls from b over one connection (what a relay does first).
	_, err := a.peerConn(context.Background(), "b", b.RelayAddr())
	if err != nil {
		t.Fatal(err)
	}

	got := gather(t, NewCollector(func() *Node { return a }))
	for _, name := range []string{"trtcd_cluster_relayed_packets_total", "trtcd_cluster_relay_received_packets_total", "trtcd_cluster_relay_refused_datagrams_total", "trtcd_cluster_relay_late_packets_total",
		"trtcd_cluster_relay_nacked_packets_total", "trtcd_cluster_relay_unasked_packets_total", "trtcd_cluster_relays", "trtcd_cluster_relay_connections",
		"trtcd_cluster_peer_rtt_seconds", "trtcd_cluster_peer_sent_bytes_total", "trtcd_cluster_peer_received_bytes_total",
		"trtcd_cluster_peer_sent_packets_total", "trtcd_cluster_peer_lost_packets", "trtcd_cluster_peer_lost_bytes"} {
		if len(got[name]) == 0 {
			t.Errorf("%s is missing", name)
		}
	}
	if dirs := got["trtcd_cluster_relayed_packets_total"]; len(dirs) != 2 || dirs[0]["direction=in"] != 1 || dirs[1]["direction=out"] != 1 {
		t.Errorf("relayed packets = %v, want direction in and out", dirs)
	}
	conns := func(got map[string][]map[string]float64, side string) float64 {
		for _, c := range got["trtcd_cluster_relay_connections"] {
			if c["side="+side] == 1 {
				return c[""]
			}
		}
		return -1
	}
	if conns(got, "dialed") != 1 || conns(got, "accepted") != 0 {
		t.Errorf("a's relay connections = %v, want 1 dialed, 0 accepted", got["trtcd_cluster_relay_connections"])
	}
	rtt := got["trtcd_cluster_peer_rtt_seconds"]
	if len(rtt) != 1 || rtt[0]["peer=b"] != 1 || rtt[0]["side=dialed"] != 1 || rtt[0][""] <= 0 || rtt[0][""] > 1 {
		t.Errorf("peer rtt = %v, want one series for peer b, dialed, above 0 and under a second on loopback", rtt)
	}
	if sent := got["trtcd_cluster_peer_sent_bytes_total"]; len(sent) != 1 || sent[0][""] < 1000 { // the handshake alone
		t.Errorf("bytes sent to b = %v", sent)
	}

	// b dialed nobody; it accepted a's connection.
	testpeer.WaitFor(t, "b to list the connection a dialed", 5*time.Second, func() bool { return len(b.PeerStats()) == 1 })
	got = gather(t, NewCollector(func() *Node { return b }))
	if conns(got, "dialed") != 0 || conns(got, "accepted") != 1 {
		t.Errorf("b's relay connections = %v, want 0 dialed, 1 accepted", got["trtcd_cluster_relay_connections"])
	}
	if rtt := got["trtcd_cluster_peer_rtt_seconds"]; len(rtt) != 1 || rtt[0]["peer=a"] != 1 || rtt[0]["side=accepted"] != 1 {
		t.Errorf("b's peer rtt = %v, want one series for peer a, accepted", rtt)
	}
	if peers := a.PeerStats(); len(peers) != 1 || peers[0].Peer != "b" || peers[0].Side != SideDialed {
		t.Errorf("a's peers = %+v", peers)
	}

	// One connection per pair: b pulls from a over the one a dialed.
	ba, err := b.peerConn(context.Background(), "a", a.RelayAddr())
	if err != nil {
		t.Fatal(err)
	}
	if pc := b.peers.all()["a"]; pc.c != ba || pc.side != SideAccepted || len(b.PeerStats()) != 1 {
		t.Errorf("b pulls from a over %+v, not the connection a dialed", pc)
	}
	// A relay address answered by another node is refused.
	if _, err := b.peerConn(context.Background(), "c", a.RelayAddr()); err == nil || !strings.Contains(err.Error(), "is node a, not c") {
		t.Errorf("dialing c at a's address: %v", err)
	}
}

func TestASingleServerCollectsNoClusterMetrics(t *testing.T) {
	got := gather(t, NewCollector(func() *Node { return nil }))
	if names := slices.Collect(maps.Keys(got)); len(names) != 0 {
		t.Errorf("a server outside a cluster exposes %v", names)
	}
}
