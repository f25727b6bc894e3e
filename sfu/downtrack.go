package sfu

import (
	"time"

	"math/bits"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// DownTrack is the sink that sends one track to one WebRTC subscriber. It
// outlives the tracks it is attached to: when the publisher republishes, the
// same DownTrack moves to the new track and the subscriber sees one
// continuous stream.
type DownTrack struct {
	id, streamID string
	kind         Kind
	codec        Codec

	binding atomic.Pointer[binding] // set when negotiated
	track   atomic.Pointer[Track]   // the source it is attached to
	// waitKeyframe drops video until a keyframe, after attaching to a source.
	waitKeyframe atomic.Bool
	// resync makes the next packet re-base the numbering (a new source,
	// or a resume after drops), for audio and video alike.
	resync   atomic.Bool
	attachMu sync.Mutex // serialises Attach, Detach and SwitchTo
	// sw is the switch to another track in progress (see layerswitch.go),
	// nil otherwise: the one thing forwarding checks for it.
	sw atomic.Pointer[layerSwitch]
	// ready: the subscriber's transport is up. Nothing is sent before: pion
	// drops what comes before DTLS without a word, so a keyframe would be
	// lost (the request for one waits for ready), and the numbers it took
	// would count towards the SRTP rollover counter though the subscriber
	// never saw them: a wrap among them, and every packet after fails its
	// authentication.
	ready atomic.Bool
	// estimate is the subscriber's bandwidth estimate (REMB), bits/s,
	// received at estimateAt (monotonic).
	estimate   atomic.Uint64
	estimateAt atomic.Int64
	// queue, when set, carries packets to a transport that may block.
	queue atomic.Pointer[sendQueue]
	// fast, when set, encrypts and sends without pion (see fastpath.go).
	fast atomic.Pointer[fastOut]
	// paused: the subscriber turned this section off (SetPaused).
	paused atomic.Bool

	// Track goroutine only.
	rw  rewriter
	hdr rtp.Header

	// For sender reports (read by the report goroutine).
	sentPackets, sentOctets atomic.Uint32
	mapping                 atomic.Uint64 // source SSRC << 32 | timestamp offset

	nacks resendBudget // what the subscriber's NACKs may still get resent
	// keyframes is how many keyframes the subscriber may still ask for,
	// shared by all its DownTracks of one publisher (Room.keyframeBudget).
	keyframes *keyframeBudget
}

type binding struct {
	ssrc   uint32
	pt     uint8
	writer webrtc.TrackLocalWriter
}

// NewDownTrack makes a sink for a subscriber. id and streamID become the
// MediaStreamTrack id and MediaStream id the subscriber sees.
func NewDownTrack(id, streamID string, kind Kind, codec Codec) *DownTrack {
	d := &DownTrack{id: id, streamID: streamID, kind: kind, codec: codec, keyframes: new(keyframeBudget)}
	d.rw.clockRate = codec.ClockRate
	return d
}

// Attach connects the DownTrack to a source track, detaching it from the
// previous one. The subscriber's numbering continues across the change.
func (d *DownTrack) Attach(t *Track) {
	d.attachMu.Lock()
	defer d.attachMu.Unlock()
	if s := d.sw.Load(); s != nil {
		d.settle(s)
	}
	d.attachLocked(t)
}

// attachLocked is Attach; the caller holds attachMu and no switch is in
// progress.
func (d *DownTrack) attachLocked(t *Track) {
	d.release()
	d.waitKeyframe.Store(d.kind == KindVideo)
	d.resync.Store(true)
	d.track.Store(t)
	t.AddSink(d)
	if d.kind == KindVideo && d.ready.Load() {
		t.requestFirstKeyframe(d.keyframes)
	}
}

// transportReady marks the subscriber's transport as up: video restarts at
// a keyframe, asked for now.
func (d *DownTrack) transportReady() {
	if !d.ready.CompareAndSwap(false, true) || d.kind != KindVideo {
		return
	}
	d.waitKeyframe.Store(true)
	d.resync.Store(true)
	if t := d.track.Load(); t != nil {
		t.requestFirstKeyframe(d.keyframes)
	}
}

// SetPaused stops (true) or resumes sending to the subscriber while the
// DownTrack stays attached. A resumed video restarts at a keyframe, asked
// for now; numbering continues from the last packet sent.
func (d *DownTrack) SetPaused(paused bool) {
	if d.paused.Swap(paused) == paused || paused {
		return
	}
	d.waitKeyframe.Store(d.kind == KindVideo)
	d.resync.Store(true)
	if t := d.track.Load(); t != nil && d.kind == KindVideo && d.ready.Load() {
		t.requestFirstKeyframe(d.keyframes)
	}
}

// Detach disconnects the DownTrack from its source.
func (d *DownTrack) Detach() {
	d.attachMu.Lock()
	defer d.attachMu.Unlock()
	if s := d.sw.Load(); s != nil {
		d.settle(s)
	}
	d.release()
}

// detachFrom disconnects the DownTrack only if t is still its source. If
// t is the source a switch is leaving, the DownTrack goes on to the
// switch's target (from its next keyframe); if t is the target, the switch
// is abandoned.
func (d *DownTrack) detachFrom(t *Track) {
	d.attachMu.Lock()
	defer d.attachMu.Unlock()
	var next *Track
	if s := d.sw.Load(); s != nil {
		if t == s.from {
			next = s.to
		}
		d.settle(s)
	}
	if d.track.Load() == t {
		d.release()
		if next != nil {
			d.attachLocked(next)
		}
	}
}

// release hands the DownTrack back from its track. The pointer is cleared
// first, so the old track's queued NACK answers see it has moved, and
// RemoveSink returns once the old track's goroutine has let go: from then
// on no other goroutine touches the numbering.
func (d *DownTrack) release() {
	if old := d.track.Swap(nil); old != nil {
		old.RemoveSink(d)
	}
}

// accepts: a DownTrack sends the codec negotiated with its subscriber.
func (d *DownTrack) accepts(c Codec) bool { return c.MimeType == d.codec.MimeType }

// Track is the source the DownTrack is attached to, or nil.
func (d *DownTrack) Track() *Track { return d.track.Load() }

// WriteRTP implements Sink.
func (d *DownTrack) WriteRTP(p *Packet) {
	b := d.binding.Load()
	if b == nil || d.paused.Load() || !d.ready.Load() {
		return
	}
	if s := d.sw.Load(); s != nil {
		s.fromSource(b, p) // a packet of the track being left
		return
	}
	d.send(b, p)
}

// send forwards a packet of the source: video from a keyframe on, and
// re-based numbering after a change of source.
func (d *DownTrack) send(b *binding, p *Packet) {
	if d.waitKeyframe.Load() {
		if !p.Keyframe {
			d.dropped(dropWaitKeyframe)
			if t := d.track.Load(); t != nil {
				t.keyframeOverdue(p.Arrival, d.keyframes)
			}
			return
		}
		d.waitKeyframe.Store(false)
	}
	if d.resync.Load() && d.resync.Swap(false) {
		d.rw.resync = true
	}
	d.write(b, p)
}

func (d *DownTrack) write(b *binding, p *Packet) {
	switched := d.rw.srcSSRC != p.SSRC || d.rw.resync || !d.rw.started
	seq, ts := d.rw.rewrite(p)
	if switched {
		d.mapping.Store(uint64(p.SSRC)<<32 | uint64(d.rw.tsOffset))
	}
	h := &d.hdr
	h.Version = 2
	h.PayloadType = b.pt
	h.SSRC = b.ssrc
	h.SequenceNumber = seq
	h.Timestamp = ts
	h.Marker = p.Marker
	h.Padding = p.paddingSize > 0
	h.PaddingSize = p.paddingSize
	payload := p.Payload()
	if q := d.queue.Load(); q != nil {
		if !q.push(h, payload) {
			d.dropped(dropSlowSubscriber)
			d.waitKeyframe.Store(d.kind == KindVideo)
			d.resync.Store(true) // resume without a gap in the numbering
			if t := d.track.Load(); t != nil && d.kind == KindVideo {
				t.requestKeyframe(d.keyframes)
			}
			return
		}
	} else if o := d.fast.Load(); o != nil {
		if !o.srtp.rocSet { // pion may have sent (and wrapped) on this SSRC before
			o.srtp.ctx.SetROC(b.ssrc, d.rw.wraps)
			o.srtp.rocSet = true
		}
		if err := o.send(h, payload, p.out); err != nil {
			d.dropped(dropWriteError)
			return
		}
	} else if _, err := b.writer.WriteRTP(h, payload); err != nil {
		d.dropped(dropWriteError)
		return
	}
	d.sentPackets.Add(1)
	d.sentOctets.Add(uint32(len(payload)))
	if t := d.track.Load(); t != nil {
		t.stats.sentPackets.Add(1)
		t.stats.sentBytes.Add(uint64(12 + len(payload) + int(p.paddingSize)))
	}
}

func (d *DownTrack) dropped(r dropReason) {
	if t := d.track.Load(); t != nil {
		t.stats.dropped[r].Add(1)
	}
}

// sourceSeq maps a NACKed number back to the source. While a switch is in
// progress two goroutines may take turns at the numbering, so NACKs are
// not answered (the subscriber asks again; the switch takes one keyframe).
func (d *DownTrack) sourceSeq(seq uint16) (uint32, uint16, bool) {
	if d.sw.Load() != nil {
		return 0, 0, false
	}
	return d.rw.source(seq)
}

func (d *DownTrack) resend(p *Packet) {
	if b := d.binding.Load(); b != nil {
		d.nacks.resent.Add(1) // before the send counts it: see charge
		d.write(b, p)
	}
}

// HandleRTCP acts on the subscriber's feedback: NACKs are answered from the
// source's packet cache within the subscriber's resend budget, keyframe
// requests go to the publisher (throttled), REMB updates the subscriber's
// estimate.
func (d *DownTrack) HandleRTCP(pkts []rtcp.Packet) {
	t := d.track.Load()
	for _, pkt := range pkts {
		switch pkt := pkt.(type) {
		case *rtcp.TransportLayerNack:
			if t != nil {
				d.nack(t, pkt.Nacks)
			}
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			if t != nil {
				t.requestKeyframe(d.keyframes)
			}
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			d.estimateAt.Store(monotonic())
			d.estimate.Store(uint64(pkt.Bitrate))
		}
	}
}

// nack queues the NACK entries the subscriber's budget allows and counts
// the packets of the others as dropped.
func (d *DownTrack) nack(t *Track, pairs []rtcp.NackPair) {
	for _, n := range pairs {
		blp := uint16(n.LostPackets)
		if !d.nacks.charge(d.sentPackets.Load(), blp) {
			t.stats.nacks.Add(1)
			t.stats.dropped[dropResendBudget].Add(uint64(1 + bits.OnesCount16(blp)))
			continue
		}
		t.resend(d, n.PacketID, blp)
	}
}

// Estimate is the subscriber's last REMB, in bits/s (0 when none, and
// while it is paused or not yet connected: a viewer that receives none of
// the track, say one that turned a poor link's video off, must not keep
// capping it for the others). An estimate older than estimateLifetime is
// none: one REMB, sent once, capped the publisher for good.
func (d *DownTrack) Estimate() uint64 {
	if d.paused.Load() || !d.ready.Load() || monotonic()-d.estimateAt.Load() > int64(estimateLifetime) {
		return 0
	}
	return d.estimate.Load()
}

// estimateLifetime: a receiver sends its REMB at least once a second
// while it has one, so one this old has been given up.
const estimateLifetime = 5 * time.Second

// SenderReport translates the source's last sender report into this
// subscriber's SSRC and timestamps, so the browser keeps audio and video in
// sync. ok is false until the source has sent one.
func (d *DownTrack) SenderReport(now int64) (*rtcp.SenderReport, bool) {
	b, t := d.binding.Load(), d.track.Load()
	if b == nil || t == nil {
		return nil, false
	}
	sr := t.lastSR.Load()
	m := d.mapping.Load()
	if sr == nil || uint32(m>>32) != sr.ssrc {
		return nil, false
	}
	elapsed := max(now-sr.arrival, 0)
	return &rtcp.SenderReport{
		SSRC:        b.ssrc,
		NTPTime:     sr.ntp + ntpDuration(elapsed),
		RTPTime:     sr.rtp + uint32(m) + uint32(uint64(elapsed)*uint64(d.codec.ClockRate)/1e9),
		PacketCount: d.sentPackets.Load(),
		OctetCount:  d.sentOctets.Load(),
	}, true
}

// ntpDuration converts nanoseconds to NTP's 32.32 fixed point without
// overflowing (a naive ns·2³²/1e9 overflows after about 4.3 s).
func ntpDuration(ns int64) uint64 {
	secs, rest := uint64(ns)/1e9, uint64(ns)%1e9
	return secs<<32 | rest<<32/1e9
}

// The webrtc.TrackLocal interface, so a DownTrack can be added to a
// subscriber's PeerConnection.

func (d *DownTrack) ID() string                { return d.id }
func (d *DownTrack) RID() string               { return "" }
func (d *DownTrack) StreamID() string          { return d.streamID }
func (d *DownTrack) Kind() webrtc.RTPCodecType { return rtpCodecType(d.kind) }

// Bind picks the negotiated codec that matches the source's.
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, d.codec.MimeType) && fmtpCompatible(d.codec, c.RTPCodecCapability) {
			d.binding.Store(&binding{ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType), writer: ctx.WriteStream()})
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

// Unbind stops sending.
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.binding.Store(nil)
	d.setQueued(false)
	return nil
}

// setQueued switches between direct writes (UDP) and a send queue (for a
// transport that can block, such as ICE-TCP).
func (d *DownTrack) setQueued(queued bool) {
	if queued == (d.queue.Load() != nil) {
		return
	}
	var q *sendQueue
	if b := d.binding.Load(); queued && b != nil {
		q = newSendQueue(b.writer, func() { d.dropped(dropWriteError) })
	}
	if old := d.queue.Swap(q); old != nil {
		old.close()
	}
}

func rtpCodecType(k Kind) webrtc.RTPCodecType {
	if k == KindAudio {
		return webrtc.RTPCodecTypeAudio
	}
	return webrtc.RTPCodecTypeVideo
}

// fmtpCompatible: for H.264 the packetization mode must match (mode 0
// cannot carry FU-A); other codecs match by name.
func fmtpCompatible(src Codec, c webrtc.RTPCodecCapability) bool {
	if !strings.EqualFold(src.MimeType, MimeH264) {
		return true
	}
	return fmtpValue(src.SDPFmtpLine, "packetization-mode") == fmtpValue(c.SDPFmtpLine, "packetization-mode")
}

func fmtpValue(line, key string) string {
	for _, kv := range strings.Split(line, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && strings.EqualFold(k, key) {
			return v
		}
	}
	if key == "packetization-mode" {
		return "0"
	}
	return ""
}
