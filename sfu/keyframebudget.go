package sfu

import (
	"sync/atomic"
	"time"
)

// A subscriber's keyframe requests, whatever makes them (a PLI or FIR, a
// resume, a switch between main and small stream, a new attach, a wait
// that lasts), reach the publisher at most keyframeBurst at once and then
// one per keyframeEvery.
const (
	keyframeEvery = 2 * time.Second
	keyframeBurst = 4
)

// keyframeBudget caps the keyframes one subscriber makes its publisher
// send. A keyframe costs every viewer of the track several delta frames of
// bandwidth, and the publisher's encoder a spike. The track's throttle
// bounds a PLI flood to one keyframe per keyframeInterval for everyone,
// but nothing else: a viewer toggling pause, or main and small stream,
// asked anew each time the last keyframe had come, so one client could
// hold a publisher at several keyframes a second. An honest viewer asks
// once when it joins and again after a loss NACKs could not repair or a
// switch, which the burst covers.
//
// It is a generic cell rate algorithm on one atomic (the time the next
// request would be due if requests came evenly): requests come from the
// subscriber's RTCP goroutine, its signalling and the track's goroutine
// alike. The zero value is a full budget; a nil budget never refuses.
type keyframeBudget struct {
	due atomic.Int64 // monotonic ns
}

// take charges one request at now and reports whether it may go.
func (b *keyframeBudget) take(now int64) bool {
	if b == nil {
		return true
	}
	for {
		due := b.due.Load()
		next := max(due, now) + int64(keyframeEvery)
		if next-now > keyframeBurst*int64(keyframeEvery) {
			return false
		}
		if b.due.CompareAndSwap(due, next) {
			return true
		}
	}
}
