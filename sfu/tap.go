package sfu

import (
	"sync"
	"sync/atomic"
)

// Tap keeps a plain Sink attached to a publisher's current track of one
// source, across republishes: the follower for sinks that are not WebRTC
// subscribers (FLV players, recorders). A video sink starts at a keyframe,
// asked for whenever the Tap attaches.
type Tap struct {
	sink   Sink
	kind   Kind
	accept func(Codec) bool

	mu    sync.Mutex // serialises attach and detach
	track atomic.Pointer[Track]
}

// Attach implements follower.
func (tp *Tap) Attach(t *Track) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.release()
	tp.track.Store(t)
	t.AddSink(tp.sink)
	if tp.kind == KindVideo {
		t.RequestFirstKeyframe()
	}
}

// SwitchTo implements follower: a Tap's sink takes care of its own
// starts at keyframes, so a switch is an Attach.
func (tp *Tap) SwitchTo(t *Track) {
	if tp.track.Load() != t {
		tp.Attach(t)
	}
}

// Detach implements follower.
func (tp *Tap) Detach() {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.release()
}

func (tp *Tap) detachFrom(t *Track) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.track.Load() == t {
		tp.release()
	}
}

// release removes the sink from its track; when it returns the track's
// goroutine no longer writes to it.
func (tp *Tap) release() {
	if old := tp.track.Swap(nil); old != nil {
		old.RemoveSink(tp.sink)
	}
}

func (tp *Tap) accepts(c Codec) bool { return tp.accept == nil || tp.accept(c) }

// Track is the track the Tap is attached to now, or nil.
func (tp *Tap) Track() *Track { return tp.track.Load() }
