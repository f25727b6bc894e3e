package cluster

import (
	"context"
	"encoding/binary"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/quic-go/quic-go"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/sfu"
)

// The near side's datagram path: one receive loop per connection hands
// each datagram to the relayed track its stream id names, and notices the
// gaps that the far side is asked to fill.

// demux routes one connection's datagrams, QUIC's and sealed ones
// (media_in.go), to relayed tracks.
type demux struct {
	c      *quic.Conn
	log    *slog.Logger
	sealed *mediaKey                           // the peer seals media with it; nil: QUIC datagrams only
	mu     sync.Mutex                          // serialises changes to tracks
	tracks atomic.Pointer[map[uint32]*relayIn] // immutable; replaced on change
}

// demuxOf is the demultiplexer of c, a connection this node dialed,
// started at its first use; its receive loop ends with the connection.
func (n *Node) demuxOf(c *quic.Conn) *demux {
	n.demuxMu.Lock()
	defer n.demuxMu.Unlock()
	d := n.demuxes[c]
	if d == nil {
		d = &demux{c: c, log: n.log}
		d.tracks.Store(&map[uint32]*relayIn{})
		d.sealed = n.receiveSealed(c, d)
		n.demuxes[c] = d
		n.spawn(func() {
			d.run(n.ctx)
			if d.sealed != nil {
				n.media.remove(d.sealed)
			}
			n.demuxMu.Lock()
			delete(n.demuxes, c)
			n.demuxMu.Unlock()
		})
	}
	return d
}

// receiveSealed routes the datagrams c's peer seals for this node to d,
// and returns their key; nil when this node's socket cannot take them (an
// IPv6 relay address) or no key was had: the peer is then not asked to
// seal, and sends QUIC datagrams.
func (n *Node) receiveSealed(c *quic.Conn, d *demux) *mediaKey {
	if n.media == nil || c.Context().Err() != nil { // a connection that ended takes nothing more
		return nil
	}
	key, err := mediaKeyFor(c, peerNode(c), n.cfg.NodeID)
	if err != nil || !n.media.add(key, d) {
		n.log.Warn("relay media stays on QUIC datagrams", "peer", peerNode(c), "err", err)
		return nil
	}
	return key
}

func (d *demux) run(ctx context.Context) {
	for {
		b, err := d.c.ReceiveDatagram(ctx) // fails when the connection closes or the node stops
		if err != nil {
			return
		}
		d.deliver(b)
	}
}

// deliver hands one datagram to its relayed track. A panic (a bug the
// far side's bytes reach) drops the datagram, counted and logged: the
// loop carries every track of the connection, and goes on.
func (d *demux) deliver(b []byte) {
	defer panics.Recover(panics.Relay, d.log)
	if len(b) < datagramHeader {
		return
	}
	if in := (*d.tracks.Load())[binary.BigEndian.Uint32(b)]; in != nil {
		in.write(b[datagramHeader:], countDatagrams)
	} // else a track that ended here but not yet there
}

func (d *demux) add(id uint32, in *relayIn) {
	d.update(func(m map[uint32]*relayIn) { m[id] = in })
}

// remove stops routing id; when it returns no datagram reaches its track.
func (d *demux) remove(id uint32) {
	var in *relayIn
	d.update(func(m map[uint32]*relayIn) { in = m[id]; delete(m, id) })
	if in != nil {
		in.mu.Lock()
		in.closed = true
		in.mu.Unlock()
	}
}

func (d *demux) update(change func(map[uint32]*relayIn)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	next := maps.Clone(*d.tracks.Load())
	change(next)
	d.tracks.Store(&next)
}

// relayIn feeds one relayed track from the relay socket's reader (sealed
// media) or the datagram loop, and from its control stream's reader; the
// mutex makes them one writer, as the track wants. It is not contended on
// the live path (resends are few), so it costs an atomic operation each
// way. Giving the track one owning goroutine instead takes a hand-off per
// packet: with quic-go's ReadNonQUICPacket (a channel between its reader
// and ours) the receiving node spent about 19 µs more per packet in
// BenchmarkRelayCPU, where sealing, opening and writing a packet to its
// track takes about 2 µs (BenchmarkSealAndDeliver).
type relayIn struct {
	t     *sfu.Track
	nacks chan nack      // to the control stream's writer
	stats [2]*relayStats // the pull's and the node's

	mu      sync.Mutex
	closed  bool
	started bool
	ssrc    uint32
	highest uint16 // the newest sequence number seen
}

// Gaps longer than maxNACKGap are not asked for: the far side's video cache
// holds 256 packets, and a gap this long (over a second of 800 kbps video)
// is a restart or an outage, which a keyframe repairs better.
const maxNACKGap = 128

// nackQueue bounds the NACK entries waiting for the control stream; a
// full queue drops them (the packets stay lost).
const nackQueue = 64

func newRelayIn(t *sfu.Track, pull, node *relayStats) *relayIn {
	return &relayIn{t: t, nacks: make(chan nack, nackQueue), stats: [2]*relayStats{pull, node}}
}

// count adds n packets of a kind to the pull's figures and the node's.
func (r *relayIn) count(kind relayCount, n uint64) {
	r.stats[0][kind].Add(n)
	r.stats[1][kind].Add(n)
}

// write forwards one packet that came the way via says (countSealed,
// countDatagrams or countStream) and asks for the ones it shows missing.
func (r *relayIn) write(b []byte, via relayCount) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.count(via, 1)
	if len(b) >= 12 { // else the track counts it malformed
		seq, ssrc := binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint32(b[8:])
		switch {
		case !r.started || ssrc != r.ssrc:
			r.started, r.ssrc, r.highest = true, ssrc, seq
		case sfu.SeqNewer(seq, r.highest):
			if gap := seq - r.highest - 1; gap > 0 && gap <= maxNACKGap {
				r.nack(r.highest+1, gap)
			}
			r.highest = seq
		default:
			r.count(countLate, 1) // a resend, or reordered on the way
		}
	}
	r.t.Write(b)
}

// nack asks for count packets from first, 17 to an entry.
func (r *relayIn) nack(first, count uint16) {
	for count > 0 {
		k := nack{ssrc: r.ssrc, pid: first}
		for i := uint16(1); i < 17 && i < count; i++ {
			k.blp |= 1 << (i - 1)
		}
		n := min(count, 17)
		select {
		case r.nacks <- k:
			r.count(countNACKed, uint64(n))
		default:
			r.count(countNACKsDropped, uint64(n))
		}
		first, count = first+n, count-n
	}
}

// relayStats counts relayed packets by relayCount: one pull's (all its
// kinds), or all of the node's since it started.
type relayStats [relayCounts]atomic.Uint64

type relayCount int

// What relayStats count (RelayStats says what each is).
const (
	countSealed relayCount = iota
	countDatagrams
	countStream
	countLate
	countNACKed
	countNACKsDropped
	countForged   // the node's only
	countReplayed // the node's only
	relayCounts
)

func (s *relayStats) figures() RelayStats {
	return RelayStats{Sealed: s[countSealed].Load(), Datagrams: s[countDatagrams].Load(), Stream: s[countStream].Load(),
		Late: s[countLate].Load(), NACKed: s[countNACKed].Load(), NACKsDropped: s[countNACKsDropped].Load(),
		Forged: s[countForged].Load(), Replayed: s[countReplayed].Load()}
}

// RelayStats are the figures of the relays into this node running now.
type RelayStats struct {
	Sealed    uint64 // RTP packets that arrived sealed on the media path (media_in.go)
	Datagrams uint64 // arrived in QUIC datagrams (a peer that does not seal)
	Stream    uint64 // arrived on control streams: resends, packets too large for a datagram
	Late      uint64 // arrived behind a newer packet: resends filling gaps (or reordered)
	NACKed    uint64 // packets asked for again
	// NACKsDropped are packets not asked for because the control stream
	// was behind.
	NACKsDropped uint64
	// Forged and Replayed are sealed datagrams dropped, in RelayTotals
	// only (they name no relay): Forged did not open with any peer's key
	// (forged, damaged, or for a connection that ended), Replayed had a
	// counter seen already or too old to tell.
	Forged, Replayed uint64
}

// RelayStats sums the figures of the relays into this node running now.
func (n *Node) RelayStats() RelayStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	var s RelayStats
	for _, p := range n.pulls {
		f := p.stats.figures()
		s.Sealed += f.Sealed
		s.Datagrams += f.Datagrams
		s.Stream += f.Stream
		s.Late += f.Late
		s.NACKed += f.NACKed
		s.NACKsDropped += f.NACKsDropped
	}
	return s
}

// RelayTotals are the figures of every relay into this node since it
// started.
func (n *Node) RelayTotals() RelayStats { return n.relayTotals.figures() }
