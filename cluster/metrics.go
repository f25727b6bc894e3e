package cluster

import (
	"cmp"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/quic-go/quic-go"
)

// Relay metrics for /metrics. The figures are read when Prometheus
// scrapes (the node's counters and quic-go's per-connection statistics),
// so the relay's packet path does nothing more for them.

var (
	relayedPacketsDesc = prometheus.NewDesc("trtcd_cluster_relayed_packets_total",
		"RTP packets relayed between nodes: direction in = received from peers, out = sent to peers.",
		[]string{"direction"}, nil)
	relaysDesc = prometheus.NewDesc("trtcd_cluster_relays",
		"Remote publishers relayed into this node (room and user; one relay carries every kind).", nil, nil)
	relayConnsDesc = prometheus.NewDesc("trtcd_cluster_relay_connections",
		"Open QUIC connections this node dialed to peers' relays (it pulls tracks over them).", nil, nil)
	peerRTTDesc = prometheus.NewDesc("trtcd_cluster_peer_rtt_seconds",
		"Smoothed round-trip time of the QUIC connection to a peer's relay (RFC 9002).", []string{"peer"}, nil)
	peerBytesSentDesc = prometheus.NewDesc("trtcd_cluster_peer_sent_bytes_total",
		"Bytes sent on the QUIC connection to a peer's relay, retransmissions included.", []string{"peer"}, nil)
	peerBytesReceivedDesc = prometheus.NewDesc("trtcd_cluster_peer_received_bytes_total",
		"Bytes received on the QUIC connection to a peer's relay.", []string{"peer"}, nil)
	peerPacketsSentDesc = prometheus.NewDesc("trtcd_cluster_peer_sent_packets_total",
		"QUIC packets sent to a peer's relay, lost ones included.", []string{"peer"}, nil)
	// quic-go's loss counts can go down (a packet declared lost may arrive
	// after all), so they are gauges.
	peerPacketsLostDesc = prometheus.NewDesc("trtcd_cluster_peer_lost_packets",
		"QUIC packets this node sent to a peer's relay and declared lost.", []string{"peer"}, nil)
	peerBytesLostDesc = prometheus.NewDesc("trtcd_cluster_peer_lost_bytes",
		"Bytes in the QUIC packets this node sent to a peer's relay and declared lost.", []string{"peer"}, nil)
)

// Collector is a prometheus.Collector of a node's relay figures. It asks
// for the node at every scrape, so it can be registered before the node
// starts; while node returns nil it collects nothing.
type Collector struct {
	node func() *Node
}

// NewCollector collects the figures of the node that node returns.
func NewCollector(node func() *Node) *Collector { return &Collector{node: node} }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{relayedPacketsDesc, relaysDesc, relayConnsDesc, peerRTTDesc,
		peerBytesSentDesc, peerBytesReceivedDesc, peerPacketsSentDesc, peerPacketsLostDesc, peerBytesLostDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	n := c.node()
	if n == nil {
		return
	}
	in, out := n.RelayedPackets()
	ch <- prometheus.MustNewConstMetric(relayedPacketsDesc, prometheus.CounterValue, float64(in), "in")
	ch <- prometheus.MustNewConstMetric(relayedPacketsDesc, prometheus.CounterValue, float64(out), "out")
	ch <- prometheus.MustNewConstMetric(relaysDesc, prometheus.GaugeValue, float64(len(n.Relays())))
	peers := n.PeerStats()
	ch <- prometheus.MustNewConstMetric(relayConnsDesc, prometheus.GaugeValue, float64(len(peers)))
	for _, p := range peers {
		s := p.Stats
		ch <- prometheus.MustNewConstMetric(peerRTTDesc, prometheus.GaugeValue, s.SmoothedRTT.Seconds(), p.Relay)
		ch <- prometheus.MustNewConstMetric(peerBytesSentDesc, prometheus.CounterValue, float64(s.BytesSent), p.Relay)
		ch <- prometheus.MustNewConstMetric(peerBytesReceivedDesc, prometheus.CounterValue, float64(s.BytesReceived), p.Relay)
		ch <- prometheus.MustNewConstMetric(peerPacketsSentDesc, prometheus.CounterValue, float64(s.PacketsSent), p.Relay)
		ch <- prometheus.MustNewConstMetric(peerPacketsLostDesc, prometheus.GaugeValue, float64(s.PacketsLost), p.Relay)
		ch <- prometheus.MustNewConstMetric(peerBytesLostDesc, prometheus.GaugeValue, float64(s.BytesLost), p.Relay)
	}
}

// PeerStat is quic-go's statistics of the connection to one peer's relay.
type PeerStat struct {
	Relay string // the peer's relay address
	Stats quic.ConnectionStats
}

// PeerStats lists the open connections this node dialed to peers' relays,
// by relay address. (Connections peers dialed to this node are not
// listed: the listener does not keep them.)
func (n *Node) PeerStats() []PeerStat {
	n.dialer.mu.Lock()
	conns := make(map[string]*quic.Conn, len(n.dialer.conns))
	for addr, c := range n.dialer.conns {
		if c.Context().Err() == nil {
			conns[addr] = c
		}
	}
	n.dialer.mu.Unlock()
	out := make([]PeerStat, 0, len(conns))
	for addr, c := range conns {
		out = append(out, PeerStat{Relay: addr, Stats: c.ConnectionStats()})
	}
	slices.SortFunc(out, func(a, b PeerStat) int { return cmp.Compare(a.Relay, b.Relay) })
	return out
}
