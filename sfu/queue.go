package sfu

import (
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// sendQueue decouples a subscriber whose transport can block (ICE-TCP,
// where a slow reader fills the socket) from the publisher's forwarding
// goroutine: packets are copied into a fixed set of slots and written by the
// queue's own goroutine. When every slot is taken the packet is dropped and
// the subscriber's video waits for the next keyframe, so a slow viewer
// costs the others nothing. UDP subscribers are written directly.
type sendQueue struct {
	free chan *queuedPacket
	out  chan *queuedPacket
	done chan struct{}
}

type queuedPacket struct {
	hdr     rtp.Header
	payload [MaxPacketSize]byte
	n       int
}

// sendQueueSlots: 256 packets is about 2.5 s of 800 kbps video; a viewer
// that far behind is better served by a keyframe than by old frames.
const sendQueueSlots = 256

func newSendQueue(w webrtc.TrackLocalWriter, onWriteError func()) *sendQueue {
	q := &sendQueue{
		free: make(chan *queuedPacket, sendQueueSlots),
		out:  make(chan *queuedPacket, sendQueueSlots),
		done: make(chan struct{}),
	}
	slots := make([]queuedPacket, sendQueueSlots)
	for i := range slots {
		q.free <- &slots[i]
	}
	go q.run(w, onWriteError)
	return q
}

// push copies a packet in; false when the queue is full (the packet is
// dropped).
func (q *sendQueue) push(h *rtp.Header, payload []byte) bool {
	select {
	case s := <-q.free:
		s.hdr = *h
		s.n = copy(s.payload[:], payload)
		q.out <- s // never blocks: out has room for every slot
		return true
	default:
		return false
	}
}

func (q *sendQueue) run(w webrtc.TrackLocalWriter, onWriteError func()) {
	for {
		select {
		case s := <-q.out:
			if _, err := w.WriteRTP(&s.hdr, s.payload[:s.n]); err != nil {
				onWriteError()
			}
			q.free <- s
		case <-q.done:
			return
		}
	}
}

func (q *sendQueue) close() { close(q.done) }
