package cluster

import (
	"bufio"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

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
		n.spawn(func() { n.serveConn(c) })
	}
}

func (n *Node) serveConn(c *quic.Conn) {
	peer := peerNode(c)
	for {
		st, err := c.AcceptStream(n.ctx)
		if err != nil {
			c.CloseWithError(0, "")
			return
		}
		n.spawn(func() { n.serveStream(st, peer) })
	}
}

// serveStream relays one track to a peer until either side ends.
func (n *Node) serveStream(st *quic.Stream, peer string) {
	defer st.Close()
	defer st.CancelRead(0)
	st.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(st)
	var h hello
	if err := readLine(r, &h); err != nil {
		return
	}
	st.SetReadDeadline(time.Time{})
	kind, ok := parseKind(h.Kind)
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
	if err := writeLine(st, answerFor(tap.Track().Codec)); err != nil {
		return
	}
	n.log.Debug("relaying track", "peer", peer, "room", h.Room, "user", h.User, "kind", h.Kind)
	peerDone := make(chan struct{})
	go func() { // feedback from the near side; ends with the stream
		defer close(peerDone)
		defer sink.close()
		for {
			b, err := r.ReadByte()
			if err != nil {
				return
			}
			if b == feedbackKeyframe {
				if t := tap.Track(); t != nil {
					t.RequestKeyframe()
				}
			}
		}
	}()
	w := bufio.NewWriterSize(st, 64<<10)
	for {
		select {
		case <-sess.Done():
			return
		case <-peerDone:
			return
		case <-n.ctx.Done():
			return
		case c := <-sink.full:
			err := writePacket(w, c.b[:c.n])
			sink.free <- c
			if err == nil && len(sink.full) == 0 {
				err = w.Flush()
			}
			if err != nil {
				return
			}
			n.relayedOut.Add(1)
		}
	}
}

// relaySink copies a track's packets for the stream's writer: the track's
// goroutine never waits for the network.
type relaySink struct {
	free, full chan *pktCopy
	closed     atomic.Bool
	dropped    atomic.Uint64
}

type pktCopy struct {
	n int
	b [sfu.MaxPacketSize]byte
}

// relayQueue bounds a relay's backlog: about two seconds of 800 kbps video.
const relayQueue = 512

func newRelaySink() *relaySink {
	s := &relaySink{free: make(chan *pktCopy, relayQueue), full: make(chan *pktCopy, relayQueue)}
	for range relayQueue {
		s.free <- new(pktCopy)
	}
	return s
}

// WriteRTP implements sfu.Sink.
func (s *relaySink) WriteRTP(p *sfu.Packet) {
	if s.closed.Load() {
		return
	}
	var c *pktCopy
	select {
	case c = <-s.free:
	default:
		s.dropped.Add(1)
		return
	}
	c.n = copy(c.b[:], p.Bytes())
	s.full <- c // never blocks: there are only relayQueue buffers
}

func (s *relaySink) close() { s.closed.Store(true) }

// peerNode is the node id in the peer's verified certificate.
func peerNode(c *quic.Conn) string {
	if certs := c.ConnectionState().TLS.PeerCertificates; len(certs) > 0 {
		return certs[0].Subject.CommonName
	}
	return "?"
}
