package cluster

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/sfu"
)

// The far side of the relay: the publisher's node answers a peer's
// subscription with a relay sink on the publisher's track.

// trackWait bounds how long a subscription waits for the publisher's track
// (it may be negotiating still).
const trackWait = 5 * time.Second

// serve accepts relay connections until the listener closes.
func (n *Node) serve(ln *quic.Listener) {
	for {
		c, err := ln.Accept(context.Background())
		if err != nil {
			return
		}
		peer := peerNode(c)
		n.peers.add(peer, c, SideAccepted)
		n.spawn(func() { n.serveConn(c, peer) })
	}
}

// serveConn answers the peer's relay streams on c, a connection either
// side dialed, until it closes.
func (n *Node) serveConn(c *quic.Conn, peer string) {
	defer n.peers.remove(peer, c)
	defer func() {
		if v := recover(); v != nil {
			panics.Report(panics.Relay, v, n.log)
			c.CloseWithError(0, "internal error") // its streams end, the peer dials again
		}
	}()
	var id uint32 // names each track in this connection's datagrams
	for {
		st, err := c.AcceptStream(n.ctx)
		if err != nil {
			c.CloseWithError(0, "")
			return
		}
		id++
		sid := id
		n.spawn(func() { n.serveStream(c, st, peer, sid) })
	}
}

// serveStream relays one track to a peer until either side ends.
// A panic on it (a bug a peer's bytes or a track's packet reach) ends this
// stream only, counted and logged: the near side asks again, and the
// node's other relays go on.
func (n *Node) serveStream(c *quic.Conn, st *quic.Stream, peer string, id uint32) {
	defer panics.Recover(panics.Relay, n.log) // last: after the stream and session are closed
	defer st.Close()
	defer st.CancelRead(0)
	st.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(st)
	var h hello
	if err := readLine(r, &h); err != nil {
		return
	}
	st.SetReadDeadline(time.Time{})
	kind, ok := sfu.ParseSource(h.Kind)
	if !ok {
		writeLine(st, answer{Error: "unknown kind " + h.Kind})
		return
	}
	sess, err := n.cfg.SFU.Join(h.Room, fmt.Sprintf("~relay-%s-%d", peer, n.seq.Add(1)))
	if err != nil {
		writeLine(st, answer{Error: err.Error()})
		return
	}
	defer sess.Close()
	sink := newRelaySink()
	tap := sess.Follow(h.User, kind, sink, nil)
	deadline := time.Now().Add(trackWait)
	for tap.Track() == nil {
		if time.Now().After(deadline) || n.ctx.Err() != nil {
			writeLine(st, answer{Error: fmt.Sprintf("%s publishes no %s here", h.User, h.Kind)})
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	a := answerFor(tap.Track().Codec)
	a.Stream = id
	var sealed *mediaOut
	if h.Sealed {
		sealed = n.senderFor(c)
	}
	a.Sealed = sealed != nil
	if err := writeLine(st, a); err != nil {
		return
	}
	n.log.Debug("relaying track", "peer", peer, "room", h.Room, "user", h.User, "kind", h.Kind, "stream", id)
	start := make(chan struct{})
	peerDone := make(chan struct{})
	go func() { // feedback from the near side; ends with the stream
		defer close(peerDone) // a panic here ends the stream too
		defer sink.close()
		defer panics.Recover(panics.Relay, n.log)
		var b [nackSize]byte
		started := false
		for {
			f, err := r.ReadByte()
			if err != nil {
				return
			}
			switch f {
			case feedbackStart:
				if !started {
					started = true
					close(start)
				}
			case feedbackKeyframe:
				if t := tap.Track(); t != nil {
					t.RequestKeyframe()
				}
			case feedbackBitrate:
				if _, err := io.ReadFull(r, b[:4]); err != nil {
					return
				}
				sink.estimate.Store(uint64(binary.BigEndian.Uint32(b[:4])) * 1000)
			case feedbackNACK:
				if _, err := io.ReadFull(r, b[:]); err != nil {
					return
				}
				k := readNACK(b[:])
				tap.Resend(k.ssrc, k.pid, k.blp)
			default:
				return // a protocol this node does not speak
			}
		}
	}()
	sink.id = id
	out := relayOut{conn: c, st: st, id: id, useDatagrams: c.ConnectionState().SupportsDatagrams.Remote, sealed: sealed}
	defer func() {
		n.log.Debug("relay stream ended", "peer", peer, "room", h.Room, "user", h.User, "kind", h.Kind,
			"sealed", sealed != nil, "datagrams", out.useDatagrams, "sent", out.sent, "on_stream", out.onStream, "too_large", out.tooLarge,
			"resent", out.resent, "test_dropped", out.testDropped, "queue_dropped", sink.dropped.Load())
	}()
	ended := make(chan struct{}) // the session, the peer or the node
	go func() {
		defer close(ended)
		select {
		case <-sess.Done():
		case <-peerDone:
		case <-n.ctx.Done():
		}
	}()
	select { // the near side is ready for datagrams
	case <-start:
	case <-ended:
		return
	}
	// From here on the track's live packets go straight to the sealed
	// media writer; the backlog and resends come this way.
	sink.sealed.Store(sealed)
	for {
		select {
		case <-ended:
			return
		case <-sink.broken:
			return
		case p := <-sink.full:
			if out.sealable(p) {
				sealed.enqueue(p)
				continue
			}
			err := out.send(p)
			sink.release(p)
			if err != nil {
				return
			}
			n.relayedOut.Add(1)
		}
	}
}

// relayOut sends one track's packets to the near side: live packets
// sealed (media_out.go) or in QUIC datagrams, resends and packets too
// large for either on the control stream.
type relayOut struct {
	conn         *quic.Conn
	st           *quic.Stream
	id           uint32
	useDatagrams bool      // the peer takes them
	sealed       *mediaOut // the peer takes sealed media: they go there instead

	sent, onStream, tooLarge, resent, testDropped uint64
}

// sealable reports whether p goes to the sealed media writer.
func (o *relayOut) sealable(p *pktCopy) bool {
	return o.sealed != nil && !p.resend && p.n <= mediaPacketMax
}

func (o *relayOut) send(p *pktCopy) error {
	if o.useDatagrams && !p.resend && o.sealed == nil {
		binary.BigEndian.PutUint32(p.b[:datagramHeader], o.id)
		if drop := dropDatagram.Load(); drop != nil && (*drop)() {
			o.sent++
			o.testDropped++
			return nil
		}
		err := o.conn.SendDatagram(p.b[:datagramHeader+p.n])
		if err == nil {
			o.sent++
			return nil
		}
		if big := (*quic.DatagramTooLargeError)(nil); !errors.As(err, &big) {
			return err
		}
		// Larger than the path takes now (an RTP packet from a source
		// with a larger MTU than ours, or before path MTU discovery):
		// reliable, on the stream, rather than lost.
		o.tooLarge++
	}
	if p.resend {
		o.resent++
	}
	o.onStream++
	binary.BigEndian.PutUint16(p.b[datagramHeader-2:], uint16(p.n))
	_, err := o.st.Write(p.b[datagramHeader-2 : datagramHeader+p.n])
	return err
}

// dropDatagram, when set (by tests only), says whether to lose the next
// live packet (a QUIC datagram, or a sealed datagram's record) instead of
// sending it: loss on the link, on the far side.
var dropDatagram atomic.Pointer[func() bool]

// relaySink copies a track's packets for the stream's writer: the track's
// goroutine never waits for the network.
type relaySink struct {
	free, full chan *pktCopy
	buffers    atomic.Int32 // allocated so far, at most relayQueue
	closed     atomic.Bool
	dropped    atomic.Uint64
	estimate   atomic.Uint64 // the far viewers' lowest estimate, bits/s
	// sealed, once the near side is ready, takes the live packets
	// directly; id names the track in them.
	sealed atomic.Pointer[mediaOut]
	id     uint32
	// broken is closed when a panic on the sealed media writer ended this
	// relay (the writer goes on for the peer's other tracks).
	broken   chan struct{}
	failOnce sync.Once
}

// Estimate implements sfu.Estimator: the publisher's cap follows the
// viewers on the other node.
func (s *relaySink) Estimate() uint64 { return s.estimate.Load() }

// pktCopy is one packet with room in front for its datagram header or
// stream framing, so either is sent without another copy.
type pktCopy struct {
	n      int
	resend bool
	sink   *relaySink // whose buffer it is
	b      [datagramHeader + sfu.MaxPacketSize]byte
}

// relayQueue bounds a relay's backlog: about two seconds of 800 kbps video.
const relayQueue = 512

// newRelaySink makes a sink whose buffers are allocated as the backlog
// needs them: a relay that keeps up reuses the few it has (warm in the
// cache), instead of cycling through relayQueue of them.
func newRelaySink() *relaySink {
	return &relaySink{free: make(chan *pktCopy, relayQueue), full: make(chan *pktCopy, relayQueue), broken: make(chan struct{})}
}

// WriteRTP implements sfu.Sink.
func (s *relaySink) WriteRTP(p *sfu.Packet) { s.put(p, false) }

// Resend implements sfu.Resender: a packet the near side asked for again.
func (s *relaySink) Resend(p *sfu.Packet) { s.put(p, true) }

func (s *relaySink) put(p *sfu.Packet, resend bool) {
	if s.closed.Load() {
		return
	}
	var c *pktCopy
	select {
	case c = <-s.free:
	default:
		if s.buffers.Add(1) > relayQueue {
			s.buffers.Add(-1)
			s.dropped.Add(1)
			return
		}
		c = &pktCopy{sink: s}
	}
	c.n = copy(c.b[datagramHeader:], p.Bytes())
	c.resend = resend
	if out := s.sealed.Load(); out != nil && !resend && c.n <= mediaPacketMax {
		out.enqueue(c)
		return
	}
	s.full <- c // never blocks: there are only relayQueue buffers
}

// release gives a buffer back for the next packet; it never blocks: there
// are only relayQueue buffers.
func (s *relaySink) release(c *pktCopy) { s.free <- c }

// fail ends the relay after a panic on the sealed media writer.
func (s *relaySink) fail() { s.failOnce.Do(func() { close(s.broken) }) }

func (s *relaySink) close() { s.closed.Store(true) }

// peerNode is the node id in the peer's verified certificate.
func peerNode(c *quic.Conn) string {
	if certs := c.ConnectionState().TLS.PeerCertificates; len(certs) > 0 {
		return certs[0].Subject.CommonName
	}
	return "?"
}
