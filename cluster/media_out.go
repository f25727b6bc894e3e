package cluster

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/quic-go/quic-go"

	"github.com/trtcd/trtcd/internal/panics"
)

// The far side of the media path: one writer per peer connection takes the
// live packets of every track relayed there, packs those that wait
// together into datagrams of up to mediaDatagramMax bytes, seals each and
// sends it on the relay socket, beside QUIC. A track's goroutine only
// copies its packet into the queue (relaySink.put); it never waits for the
// writer or the network.

// mediaQueue bounds the packets waiting for one peer's writer, all tracks
// together; each track's own backlog is bounded by relayQueue too.
const mediaQueue = 4096

// mediaRound bounds the packets one wake-up of the writer sends before it
// looks at its queue again, so a burst of many tracks is not held back
// behind itself.
const mediaRound = 64

// mediaOut seals and sends the live packets relayed over one connection.
type mediaOut struct {
	key   *mediaKey
	sock  *relaySocket
	to    netip.AddrPort
	queue chan *pktCopy
	sent  *atomic.Uint64 // the node's relayed packets out
	bytes atomic.Uint64  // of the datagrams sent
	log   *slog.Logger

	// The writer's alone:
	counter uint64 // of the datagrams sealed; the first is 1
	packets int    // in the datagram being packed
	size    int    // of its records
	buf     [mediaDatagramMax]byte
}

// senderFor is the sealed media writer of c, started at its first use; nil
// when c's peer cannot be sent sealed media from here (this node's socket
// is IPv6, or no key was had): its tracks then go in QUIC datagrams.
func (n *Node) senderFor(c *quic.Conn) *mediaOut {
	n.sendersMu.Lock()
	defer n.sendersMu.Unlock()
	if o := n.senders[c]; o != nil {
		return o
	}
	if sealNothing.Load() {
		return nil
	}
	if c.Context().Err() != nil || n.ctx.Err() != nil {
		// Its writer may have ended already: a new one would count from
		// 1 again with the same key, and reuse GCM nonces.
		return nil
	}
	sock, ok := n.tr.Conn.(*relaySocket)
	to, isUDP := c.RemoteAddr().(*net.UDPAddr)
	if !ok || !isUDP || n.media == nil {
		return nil
	}
	key, err := mediaKeyFor(c, n.cfg.NodeID, peerNode(c))
	if err != nil {
		n.log.Warn("relay media stays on QUIC datagrams", "peer", peerNode(c), "err", err)
		return nil
	}
	o := &mediaOut{key: key, sock: sock, to: to.AddrPort(), queue: make(chan *pktCopy, mediaQueue),
		sent: &n.relayedOut, log: n.log}
	n.senders[c] = o
	n.spawn(func() {
		o.run(c.Context().Done(), n.ctx.Done())
		n.sendersMu.Lock()
		delete(n.senders, c)
		n.sendersMu.Unlock()
	})
	return o
}

// sealNothing, when set (by tests only), has this node answer as a node
// of the previous version: media in QUIC datagrams.
var sealNothing atomic.Bool

// enqueue hands p to the writer, which gives it back to its sink; a full
// queue drops it (counted as the sink's).
func (o *mediaOut) enqueue(p *pktCopy) {
	select {
	case o.queue <- p:
	default:
		p.sink.dropped.Add(1)
		p.sink.release(p)
	}
}

// run sends until the connection or the node ends.
func (o *mediaOut) run(connDone, nodeDone <-chan struct{}) {
	for {
		select {
		case <-connDone:
			return
		case <-nodeDone:
			return
		case p := <-o.queue:
			o.sendRound(p)
		}
	}
}

// sendRound sends p and the packets queued behind it, up to mediaRound. A
// panic (a bug a packet reaches) loses the round's packets not sent yet,
// counted and logged; the writer goes on with the next round.
func (o *mediaOut) sendRound(p *pktCopy) {
	defer panics.Recover(panics.Relay, o.log)
	defer o.flush()
	o.pack(p)
	for range mediaRound - 1 {
		select {
		case p := <-o.queue:
			o.pack(p)
		default:
			return
		}
	}
}

// pack adds p to the datagram being packed, sending that one first when p
// does not fit, and gives p back to its sink.
func (o *mediaOut) pack(p *pktCopy) {
	defer p.sink.release(p)
	if o.lost(p) {
		o.sent.Add(1)
		return
	}
	if o.size+mediaRecordHdr+p.n > mediaDatagramMax-mediaHeader-mediaTag {
		o.flush()
	}
	rec := o.buf[mediaHeader+o.size:]
	putRecordHeader(rec, p.sink.id, p.n)
	copy(rec[mediaRecordHdr:], p.b[datagramHeader:datagramHeader+p.n])
	o.size += mediaRecordHdr + p.n
	o.packets++
}

// flush seals and sends the datagram packed so far. A full send buffer
// drops it, as a router would; the near side asks for its packets again.
func (o *mediaOut) flush() {
	packets, size := o.packets, o.size
	if packets == 0 {
		return
	}
	o.packets, o.size = 0, 0
	o.counter++
	d := o.key.seal(o.buf[:mediaHeader+size], o.counter)
	if _, err := o.sock.raw.WriteToAddrPort(d, o.to); err == nil {
		o.sent.Add(uint64(packets))
		o.bytes.Add(uint64(len(d)))
	} else if !errors.Is(err, net.ErrClosed) {
		o.log.Debug("relay media datagram not sent", "to", o.to, "err", err) // EAGAIN: the peer NACKs its packets
	}
}

// lost runs the tests' loss hook (dropDatagram) on one packet. A panic in
// it (a bug that one packet reaches) ends that packet's relay stream only,
// counted and logged: the writer carries every track to the peer.
func (o *mediaOut) lost(p *pktCopy) (drop bool) {
	hook := dropDatagram.Load()
	if hook == nil {
		return false
	}
	defer func() {
		if v := recover(); v != nil {
			panics.Report(panics.Relay, v, o.log)
			p.sink.fail()
			drop = true
		}
	}()
	return (*hook)()
}
