package sfu

// The interfaces between sfu and the rest of trtcd. A source hands its
// track an Upstream for feedback; everything that consumes a track (a
// WebRTC subscriber, the recorder, an FLV/RTMP player, a relay to another
// node) is a Sink, optionally an Estimator (it knows its viewers'
// bandwidth) or a Resender (it takes packets resent from the track's cache).

// Sink consumes a track's packets: a WebRTC subscriber, a recorder, an FLV
// player, a relay to another node.
type Sink interface {
	// WriteRTP runs on the track's goroutine for every packet. It must not
	// block, and must not keep p (or its bytes) after returning: a sink that
	// can be slow copies into a bounded queue of its own and drops.
	WriteRTP(p *Packet)
}

// Upstream is the publishing side of a track, where feedback goes.
type Upstream interface {
	// RequestKeyframe asks the publisher for a keyframe (PLI) on ssrc.
	RequestKeyframe(ssrc uint32)
}

// Estimator is a sink that knows how fast its viewer can receive: a
// DownTrack (its subscriber's REMB), a relay to another node (the viewers
// there).
type Estimator interface {
	Estimate() uint64 // bits/s; 0: no estimate
}

// Resender is a Tap's sink that also takes packets resent from its track's
// packet cache.
type Resender interface {
	Sink
	// Resend runs on the track's goroutine, as WriteRTP does, once for
	// each packet found; the same rules apply (no blocking, no keeping p).
	Resend(p *Packet)
}
