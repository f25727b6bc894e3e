package sfu

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Switching a subscriber between two tracks of a publisher, such as its big
// and small streams (issue 19). The DownTrack keeps the old source until
// the target's next keyframe, then forwards only the target; the rewriter
// re-bases at that keyframe as it does for a republish, so the subscriber's
// sequence numbers continue without a gap and its timestamps move on.
//
// For the time of the switch the DownTrack is a sink of both tracks, whose
// goroutines take turns at its numbering: the old source's packets go
// through DownTrack.WriteRTP to fromSource, the target's to the
// layerSwitch, a sink of its own. A flag (gate) hands the numbering from
// one to the other at the keyframe: the old source holds it for one write,
// the target for the keyframe's, and neither waits for anything else while
// holding it, so a wait for it is a wait of one packet at most. Once
// the keyframe is out, a goroutine takes the DownTrack off the old track
// and puts it in the layerSwitch's place on the target, and forwarding is
// as it was: outside a switch, a packet costs one more atomic load.

// layerSwitch is one switch of a DownTrack from one track to another.
type layerSwitch struct {
	d        *DownTrack
	from, to *Track
	// gate is held by whichever goroutine writes to d while both may.
	gate atomic.Bool
	// done: the target's keyframe went out; from's packets are dropped.
	done atomic.Bool
	// frozen: the switch is being settled and will not commit any more.
	frozen atomic.Bool
	asked  int64 // when a keyframe was last asked of `to` (to's goroutine)
}

// switchRetry is how often a switch still waiting for the target's
// keyframe asks for it again (the first request may be lost).
const switchRetry = time.Second

// SwitchTo moves a video DownTrack from its source to t (a publisher's
// small stream and back) without a gap: the current source keeps being
// forwarded until t's next keyframe, asked for now, and from that keyframe
// on only t is. t must carry the DownTrack's codec (see accepts). Audio, a
// DownTrack with no source, or one whose subscriber is not connected yet,
// simply attaches to t. A switch in progress to another track is
// abandoned; one to t goes on. As Attach, it must not be called from a
// track's goroutine (a Sink's WriteRTP).
func (d *DownTrack) SwitchTo(t *Track) {
	d.attachMu.Lock()
	defer d.attachMu.Unlock()
	if s := d.sw.Load(); s != nil {
		if s.to == t {
			return
		}
		d.settle(s)
	}
	cur := d.track.Load()
	if cur == t {
		return
	}
	if cur == nil || d.kind != KindVideo || !d.ready.Load() || d.binding.Load() == nil {
		d.attachLocked(t)
		return
	}
	s := &layerSwitch{d: d, from: cur, to: t, asked: monotonic()}
	d.sw.Store(s)
	// A packet (or a NACK answer) cur's goroutine has in progress may
	// have missed the switch; from its next one on, cur goes through s.
	cur.quiesce()
	t.AddSink(s)
	t.requestFirstKeyframe(d.keyframes)
}

// Switching reports the track a switch in progress waits for a keyframe
// of, or nil.
func (d *DownTrack) Switching() *Track {
	if s := d.sw.Load(); s != nil && !s.done.Load() {
		return s.to
	}
	return nil
}

// fromSource forwards a packet of the track being left, on its goroutine,
// until the target has taken over.
func (s *layerSwitch) fromSource(b *binding, p *Packet) {
	if s.done.Load() {
		return // the target took over
	}
	// Dropping the packet when the gate is held would leave a gap in the
	// subscriber's numbering if the target does not take over after all.
	s.lock()
	if !s.done.Load() {
		s.d.send(b, p)
	}
	s.gate.Store(false)
}

// WriteRTP takes the target's packets, on its goroutine: nothing before a
// keyframe, then everything.
func (s *layerSwitch) WriteRTP(p *Packet) {
	d := s.d
	b := d.binding.Load()
	if b == nil {
		return
	}
	if s.done.Load() { // the old source no longer writes: no gate needed
		d.send(b, p)
		return
	}
	if !p.Keyframe {
		if p.Arrival-s.asked >= int64(switchRetry) {
			s.asked = p.Arrival
			s.to.requestKeyframe(d.keyframes)
		}
		return
	}
	s.lock() // the old source writes at most one packet meanwhile
	if s.frozen.Load() {
		s.gate.Store(false)
		return
	}
	d.track.Store(s.to) // stats, PLIs and NACKs go to the target now
	d.waitKeyframe.Store(false)
	d.resync.Store(true) // the rewriter re-bases at this keyframe
	s.done.Store(true)
	d.send(b, p)
	s.gate.Store(false)
	go d.finishSwitch(s)
}

func (s *layerSwitch) lock() {
	for !s.gate.CompareAndSwap(false, true) {
		runtime.Gosched()
	}
}

// finishSwitch settles a switch whose keyframe went out, unless something
// else (Attach, Detach, another switch) has already.
func (d *DownTrack) finishSwitch(s *layerSwitch) {
	d.attachMu.Lock()
	defer d.attachMu.Unlock()
	if d.sw.Load() == s {
		d.settle(s)
	}
}

// settle ends switch s where it stands: on the target if its keyframe went
// out, on the old source if not. Afterwards the DownTrack is a sink of that
// one track only, and forwards as if attached to it. The caller holds
// attachMu; s is d.sw.
func (d *DownTrack) settle(s *layerSwitch) {
	s.lock()
	s.frozen.Store(true)
	s.gate.Store(false)
	if s.done.Load() {
		s.from.RemoveSink(d) // from's goroutine lets go of d
		d.sw.Store(nil)
		s.to.replaceSink(s, d)
	} else {
		s.to.RemoveSink(s) // to's goroutine lets go of d
		d.sw.Store(nil)
	}
}
