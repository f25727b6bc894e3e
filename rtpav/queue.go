package rtpav

import (
	"sync/atomic"

	"github.com/trtcd/trtcd/sfu"
)

// rtpCopy is one packet copied off a track for a player's own goroutine.
type rtpCopy struct {
	kind    sfu.Kind
	ssrc    uint32
	seq     uint16
	ts      uint32
	marker  bool
	arrival int64
	n       int
	payload [sfu.MaxPacketSize]byte
}

func (c *rtpCopy) bytes() []byte { return c.payload[:c.n] }

// queueSize bounds a player's backlog: about two seconds of 800 kbps video
// and audio. A player further behind loses packets (and waits for the next
// keyframe) instead of slowing the publisher's other viewers.
const queueSize = 512

// packetQueue carries packets from the tracks' goroutines to a player's
// goroutine without allocating: buffers cycle between free and full.
type packetQueue struct {
	free, full chan *rtpCopy
	dropped    atomic.Uint64
}

func newPacketQueue() *packetQueue {
	q := &packetQueue{free: make(chan *rtpCopy, queueSize), full: make(chan *rtpCopy, queueSize)}
	for range queueSize {
		q.free <- new(rtpCopy)
	}
	return q
}

// queueSink is the sfu.Sink a player follows one kind of track with.
type queueSink struct {
	kind sfu.Kind
	q    *packetQueue
}

// WriteRTP runs on the track's goroutine: copy and hand over, never block.
func (s queueSink) WriteRTP(p *sfu.Packet) {
	var c *rtpCopy
	select {
	case c = <-s.q.free:
	default:
		s.q.dropped.Add(1)
		return
	}
	c.kind, c.ssrc, c.seq, c.ts, c.marker, c.arrival = s.kind, p.SSRC, p.SequenceNumber, p.Timestamp, p.Marker, p.Arrival
	c.n = copy(c.payload[:], p.Payload())
	s.q.full <- c // never blocks: there are only queueSize buffers
}
