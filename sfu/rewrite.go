package sfu

// rewriter gives one subscriber a continuous stream: its own sequence
// numbers and timestamps, which continue without a jump when the source
// changes (a republish, a new SSRC) or pauses.
type rewriter struct {
	clockRate uint32

	started   bool
	resync    bool   // recompute offsets at the next packet
	srcSSRC   uint32 // the source whose packets are mapped now
	seqOffset uint16
	tsOffset  uint32

	lastSeq     uint16 // highest sequence number sent
	lastTS      uint32
	lastArrival int64
	// firstSeq is the first sequence number sent for the current source:
	// NACKs for older numbers refer to another source and are not answered.
	firstSeq uint16
	wraps    uint32 // wrap-arounds of the numbers sent
}

// rewrite maps a source packet to the subscriber's numbering. A sink is
// attached to one track at a time, so a new SSRC means a new source.
func (r *rewriter) rewrite(p *Packet) (seq uint16, ts uint32) {
	first := !r.started
	if first || r.resync || p.SSRC != r.srcSSRC {
		r.switchTo(p)
	}
	seq, ts = p.SequenceNumber+r.seqOffset, p.Timestamp+r.tsOffset
	if SeqNewer(seq, r.lastSeq) {
		// The SRTP rollover counter of the subscriber's stream. The first
		// packet follows no packet sent: numbered 0, it is not a wrap (the
		// subscriber starts its counter at 0, and would fail every packet's
		// authentication).
		if seq < r.lastSeq && !first {
			r.wraps++
		}
		r.lastSeq, r.lastTS, r.lastArrival = seq, ts, p.Arrival
	}
	return seq, ts
}

// switchTo starts mapping a new source so that its first packet follows the
// last one sent: the next sequence number, and a timestamp advanced by the
// wall-clock time that passed.
func (r *rewriter) switchTo(p *Packet) {
	newSource := r.started && p.SSRC != r.srcSSRC
	if !r.started {
		r.started = true
		r.lastSeq = p.SequenceNumber - 1
		r.lastTS = p.Timestamp
		r.lastArrival = p.Arrival
	}
	elapsed := p.Arrival - r.lastArrival
	if elapsed < 0 {
		elapsed = 0
	}
	step := uint32(uint64(elapsed) * uint64(r.clockRate) / 1e9)
	if step == 0 && (newSource || r.lastSeq != p.SequenceNumber-1) {
		step = 1 // never repeat a timestamp across sources
	}
	r.seqOffset = r.lastSeq + 1 - p.SequenceNumber
	r.tsOffset = r.lastTS + step - p.Timestamp
	r.srcSSRC = p.SSRC
	r.firstSeq = r.lastSeq + 1
	r.resync = false
}

// source maps a subscriber's sequence number back to the source's, for a
// NACK. ok is false for numbers sent before the current source began.
func (r *rewriter) source(seq uint16) (ssrc uint32, srcSeq uint16, ok bool) {
	if !r.started || SeqNewer(r.firstSeq, seq) || SeqNewer(seq, r.lastSeq) {
		return 0, 0, false
	}
	return r.srcSSRC, seq - r.seqOffset, true
}
