package sfu

// NACKs in the source's own numbering, for a sink that forwards packets
// unchanged through a Tap: the cluster relay's far side resends what the
// near side missed from the publisher's packet cache, as a WebRTC
// subscriber's NACKs are answered.

// Resend asks the track the Tap follows now to resend packet pid of source
// ssrc and the packets blp marks (bit i is pid+i+1, as in an RTCP generic
// NACK) to the Tap's sink, which must be a Resender (otherwise nothing
// happens). The track's goroutine answers after its next packet, unless
// the Tap has moved to another track by then; packets no longer cached are
// counted as missed NACKs.
func (tp *Tap) Resend(ssrc uint32, pid, blp uint16) {
	r, ok := tp.sink.(Resender)
	t := tp.track.Load()
	if !ok || t == nil {
		return
	}
	t.resend(&tapResender{tap: tp, to: r, ssrc: ssrc}, pid, blp)
}

// tapResender is a resender whose numbering is the source's: no mapping.
type tapResender struct {
	tap  *Tap
	to   Resender
	ssrc uint32
}

func (r *tapResender) sourceSeq(seq uint16) (uint32, uint16, bool) { return r.ssrc, seq, true }
func (r *tapResender) resend(p *Packet)                            { r.to.Resend(p) }
func (r *tapResender) Track() *Track                               { return r.tap.Track() }
