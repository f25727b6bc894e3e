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
	relayReceivedDesc = prometheus.NewDesc("trtcd_cluster_relay_received_packets_total",
		"RTP packets of relays into this node by how they came: sealed (live, on the media path), datagram (live, in QUIC datagrams from a peer that does not seal), stream (resends and packets too large for a datagram).",
		[]string{"via"}, nil)
	relayRefusedDesc = prometheus.NewDesc("trtcd_cluster_relay_refused_datagrams_total",
		"Sealed media datagrams dropped: forged (did not open with a peer's key: forged, damaged, or for a connection that ended), replayed (a counter seen already or too old to tell).",
		[]string{"reason"}, nil)
	relayLateDesc = prometheus.NewDesc("trtcd_cluster_relay_late_packets_total",
		"Relayed packets that arrived behind a newer one: resends filling gaps, or reordered on the way.", nil, nil)
	relayNACKedDesc = prometheus.NewDesc("trtcd_cluster_relay_nacked_packets_total",
		"Relayed packets this node found missing and asked the publisher's node for again.", nil, nil)
	relayUnaskedDesc = prometheus.NewDesc("trtcd_cluster_relay_unasked_packets_total",
		"Relayed packets found missing but not asked for: the relay's control stream was behind.", nil, nil)
	relaysDesc = prometheus.NewDesc("trtcd_cluster_relays",
		"Remote publishers relayed into this node (room and user; one relay carries every kind).", nil, nil)
	relayConnsDesc = prometheus.NewDesc("trtcd_cluster_relay_connections",
		"Open QUIC relay connections, one per peer node: side dialed = this node dialed it, accepted = the peer did; both nodes pull tracks over it.",
		[]string{"side"}, nil)
	peerLabels  = []string{"peer", "side"} // the peer's node id; dialed or accepted
	peerRTTDesc = prometheus.NewDesc("trtcd_cluster_peer_rtt_seconds",
		"Smoothed round-trip time of the QUIC connection with a peer (RFC 9002).", peerLabels, nil)
	peerBytesSentDesc = prometheus.NewDesc("trtcd_cluster_peer_sent_bytes_total",
		"Bytes sent on the QUIC connection with a peer, retransmissions included.", peerLabels, nil)
	peerBytesReceivedDesc = prometheus.NewDesc("trtcd_cluster_peer_received_bytes_total",
		"Bytes received on the QUIC connection with a peer.", peerLabels, nil)
	peerPacketsSentDesc = prometheus.NewDesc("trtcd_cluster_peer_sent_packets_total",
		"QUIC packets sent to a peer, lost ones included.", peerLabels, nil)
	// quic-go's loss counts can go down (a packet declared lost may arrive
	// after all), so they are gauges.
	peerPacketsLostDesc = prometheus.NewDesc("trtcd_cluster_peer_lost_packets",
		"QUIC packets this node sent to a peer and declared lost (relayed media only from a node that sends it in QUIC datagrams; sealed media's loss shows as the receiving node's NACKed packets).", peerLabels, nil)
	peerBytesLostDesc = prometheus.NewDesc("trtcd_cluster_peer_lost_bytes",
		"Bytes in the QUIC packets this node sent to a peer and declared lost.", peerLabels, nil)
	peerSealedSentDesc = prometheus.NewDesc("trtcd_cluster_peer_sealed_sent_bytes_total",
		"Bytes of sealed media datagrams sent to a peer beside the QUIC connection: the live relayed media.", peerLabels, nil)
	peerSealedReceivedDesc = prometheus.NewDesc("trtcd_cluster_peer_sealed_received_bytes_total",
		"Bytes of sealed media datagrams received from a peer beside the QUIC connection and taken (genuine, not replayed).", peerLabels, nil)
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
	for _, d := range []*prometheus.Desc{relayedPacketsDesc, relayReceivedDesc, relayRefusedDesc, relayLateDesc, relayNACKedDesc, relayUnaskedDesc, relaysDesc, relayConnsDesc, peerRTTDesc,
		peerBytesSentDesc, peerBytesReceivedDesc, peerPacketsSentDesc, peerPacketsLostDesc, peerBytesLostDesc,
		peerSealedSentDesc, peerSealedReceivedDesc} {
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
	t := n.RelayTotals()
	ch <- prometheus.MustNewConstMetric(relayReceivedDesc, prometheus.CounterValue, float64(t.Sealed), "sealed")
	ch <- prometheus.MustNewConstMetric(relayReceivedDesc, prometheus.CounterValue, float64(t.Datagrams), "datagram")
	ch <- prometheus.MustNewConstMetric(relayReceivedDesc, prometheus.CounterValue, float64(t.Stream), "stream")
	ch <- prometheus.MustNewConstMetric(relayRefusedDesc, prometheus.CounterValue, float64(t.Forged), "forged")
	ch <- prometheus.MustNewConstMetric(relayRefusedDesc, prometheus.CounterValue, float64(t.Replayed), "replayed")
	ch <- prometheus.MustNewConstMetric(relayLateDesc, prometheus.CounterValue, float64(t.Late))
	ch <- prometheus.MustNewConstMetric(relayNACKedDesc, prometheus.CounterValue, float64(t.NACKed))
	ch <- prometheus.MustNewConstMetric(relayUnaskedDesc, prometheus.CounterValue, float64(t.NACKsDropped))
	ch <- prometheus.MustNewConstMetric(relaysDesc, prometheus.GaugeValue, float64(len(n.Relays())))
	peers := n.PeerStats()
	sides := map[string]int{SideDialed: 0, SideAccepted: 0}
	for _, p := range peers {
		sides[p.Side]++
		s := p.Stats
		for _, m := range []struct {
			desc  *prometheus.Desc
			kind  prometheus.ValueType
			value float64
		}{
			{peerRTTDesc, prometheus.GaugeValue, s.SmoothedRTT.Seconds()},
			{peerBytesSentDesc, prometheus.CounterValue, float64(s.BytesSent)},
			{peerBytesReceivedDesc, prometheus.CounterValue, float64(s.BytesReceived)},
			{peerPacketsSentDesc, prometheus.CounterValue, float64(s.PacketsSent)},
			{peerPacketsLostDesc, prometheus.GaugeValue, float64(s.PacketsLost)},
			{peerBytesLostDesc, prometheus.GaugeValue, float64(s.BytesLost)},
			{peerSealedSentDesc, prometheus.CounterValue, float64(p.Sealed.BytesSent)},
			{peerSealedReceivedDesc, prometheus.CounterValue, float64(p.Sealed.BytesReceived)},
		} {
			ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value, p.Peer, p.Side)
		}
	}
	for side, count := range sides {
		ch <- prometheus.MustNewConstMetric(relayConnsDesc, prometheus.GaugeValue, float64(count), side)
	}
}

// The sides of a relay connection.
const (
	SideDialed   = "dialed"   // this node dialed it (to pull a track first)
	SideAccepted = "accepted" // the peer did
)

// PeerStat is quic-go's statistics of one relay connection, and those of
// the sealed media beside it, which quic-go does not see.
type PeerStat struct {
	Peer   string // the peer's node id (from its certificate)
	Side   string // SideDialed or SideAccepted
	Stats  quic.ConnectionStats
	Sealed SealedStats
}

// SealedStats count the sealed media datagrams of one relay connection.
type SealedStats struct {
	BytesSent, BytesReceived uint64
}

// PeerStats lists the open relay connections, by peer.
func (n *Node) PeerStats() []PeerStat {
	var out []PeerStat
	for peer, pc := range n.peers.all() {
		if pc.c.Context().Err() == nil {
			out = append(out, PeerStat{Peer: peer, Side: pc.side, Stats: pc.c.ConnectionStats(), Sealed: n.sealedStats(pc.c)})
		}
	}
	slices.SortFunc(out, func(a, b PeerStat) int { return cmp.Or(cmp.Compare(a.Peer, b.Peer), cmp.Compare(a.Side, b.Side)) })
	return out
}

// sealedStats are the figures of c's sealed media writer and receiver.
func (n *Node) sealedStats(c *quic.Conn) SealedStats {
	var s SealedStats
	n.sendersMu.Lock()
	o := n.senders[c]
	n.sendersMu.Unlock()
	if o != nil {
		s.BytesSent = o.bytes.Load()
	}
	n.demuxMu.Lock()
	d := n.demuxes[c]
	n.demuxMu.Unlock()
	if d != nil && d.sealed != nil {
		if in := (*n.media.byKey.Load())[d.sealed.id]; in != nil && in.key == d.sealed {
			s.BytesReceived = in.bytes.Load()
		}
	}
	return s
}
