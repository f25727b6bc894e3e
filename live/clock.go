package live

// timeline repairs an RTMP publisher's timestamps. Encoders restart their
// clocks on reconnect, wrap, or jump when a phone sleeps; WebRTC receivers
// and FLV players want time that moves forward smoothly. One timeline is
// shared by a connection's audio and video so a jump moves both alike.
type timeline struct {
	started bool
	offset  int64 // added to the publisher's timestamp
	latest  int64 // the furthest repaired time seen, ms
}

// maxJump: a step larger than this, either way, is a discontinuity and not
// media time (audio and video interleave a few hundred ms apart at most).
const maxJump = 1000

// jumpStep is how far past the latest time media continues after a
// discontinuity: about one video frame.
const jumpStep = 40

// at maps a publisher timestamp (ms) onto the repaired timeline, which
// starts at 0.
func (tl *timeline) at(ts uint32) int64 {
	if !tl.started {
		tl.started = true
		tl.offset = -int64(ts)
	}
	t := int64(ts) + tl.offset
	if t > tl.latest+maxJump || t < tl.latest-maxJump {
		tl.offset += tl.latest + jumpStep - t
		t = tl.latest + jumpStep
	}
	tl.latest = max(tl.latest, t)
	return t
}

// streamClock keeps one stream's times strictly increasing: a timestamp
// that goes back (an encoder bug, or B-frame DTS that is not) is moved just
// after the previous one.
type streamClock struct {
	started bool
	last    int64
}

func (c *streamClock) next(t int64) int64 {
	if c.started && t <= c.last {
		t = c.last + 1
	}
	c.started, c.last = true, t
	return t
}

// tagTime is next for an FLV tag, whose times are unsigned: a frame stamped
// before the stream's first (a reordered packet, a B-frame) plays at 0 or
// just after the previous tag, never at 2^32 ms less a little.
func (c *streamClock) tagTime(t int64) uint32 {
	return uint32(c.next(max(t, 0)))
}
