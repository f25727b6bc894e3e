package rtpframe

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

// warmBuffers are made with the queue; the rest are made only when a
// backlog needs them. A player that keeps up never holds more than a
// keyframe's worth, and a thousand idle ones must not cost 768 KB each.
const warmBuffers = 8

// packetQueue carries packets from the tracks' goroutines to a player's
// goroutine: buffers cycle between free and full, so once the queue has
// grown to the largest backlog it has seen, nothing is allocated.
type packetQueue struct {
	free, full chan *rtpCopy
	made       atomic.Int32 // buffers in existence, at most queueSize
	dropped    atomic.Uint64
}

func newPacketQueue() *packetQueue {
	q := &packetQueue{free: make(chan *rtpCopy, queueSize), full: make(chan *rtpCopy, queueSize)}
	for range warmBuffers {
		q.free <- new(rtpCopy)
	}
	q.made.Store(warmBuffers)
	return q
}

// buffer returns a free buffer, or a new one while the queue may still
// grow; nil when all queueSize buffers hold packets not yet taken.
func (q *packetQueue) buffer() *rtpCopy {
	select {
	case c := <-q.free:
		return c
	default:
	}
	// Audio and video tracks write from their own goroutines: the counter,
	// not the channel, decides who may make the last buffers.
	if q.made.Add(1) <= queueSize {
		return new(rtpCopy)
	}
	q.made.Add(-1)
	return nil
}

// queueSink is the sfu.Sink a player follows one kind of track with.
type queueSink struct {
	kind sfu.Kind
	q    *packetQueue
}

// WriteRTP runs on the track's goroutine: copy and hand over, never block.
func (s queueSink) WriteRTP(p *sfu.Packet) {
	c := s.q.buffer()
	if c == nil {
		s.q.dropped.Add(1)
		return
	}
	c.kind, c.ssrc, c.seq, c.ts, c.marker, c.arrival = s.kind, p.SSRC, p.SequenceNumber, p.Timestamp, p.Marker, p.Arrival
	c.n = copy(c.payload[:], p.Payload())
	s.q.full <- c // never blocks: there are at most queueSize buffers
}
