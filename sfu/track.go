package sfu

import (
	"errors"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trtcd/trtcd/internal/panics"
)

// Kind is audio or video.
type Kind uint8

const (
	KindAudio Kind = iota + 1
	KindVideo
)

func (k Kind) String() string {
	switch k {
	case KindAudio:
		return "audio"
	case KindVideo:
		return "video"
	}
	return "unknown"
}

// Codec describes what a track carries.
type Codec struct {
	MimeType    string // MimeH264, MimeVP8, MimeOpus
	ClockRate   uint32
	Channels    uint16
	SDPFmtpLine string
}

// keyframeInterval throttles keyframe requests: a keyframe costs several
// delta frames of bandwidth, and one every 500 ms serves every new viewer.
const keyframeInterval = 500 * time.Millisecond

// Track is one published media stream and its fan-out. Exactly one goroutine
// (the source's) calls ReadFrom or Write; any goroutine may add or remove
// sinks and ask for keyframes or retransmissions.
type Track struct {
	ID    string
	Kind  Kind
	Codec Codec
	// Source is which of its member's streams the track is; set before
	// the track is published.
	Source Source

	upstream Upstream
	sinks    atomic.Pointer[[]Sink] // immutable; replaced on change
	sinksMu  sync.Mutex             // serialises changes, never taken by forwarding
	cache    *packetCache
	resends  chan resendRequest
	ssrc     atomic.Uint32 // latest source SSRC
	lastSR   atomic.Pointer[senderReport]

	lastKeyframeRequest atomic.Int64
	lastKeyframe        atomic.Int64 // arrival of the latest keyframe packet
	keyframePending     atomic.Bool  // a request held back by the throttle
	owner               atomic.Int32
	late                chan []byte    // set by handOver, see forwardLate
	nacker              *nackGenerator // NACKs to a WebRTC publisher (owner only)
	// wraps counts the source's sequence-number wrap-arounds (owner only):
	// the SRTP rollover counter the fast path must continue from.
	wraps      uint32
	highestSeq uint16
	// delivering is odd while the forwarding goroutine hands a packet to
	// sinks; RemoveSink waits for it to move on, so a removed sink is
	// never written to again (and may be attached elsewhere).
	delivering atomic.Uint64
	stats      *trackStats
	rate       rateCap // a WebRTC publisher's (owner only)
}

// NewTrack makes a track that forwards packets of codec to its sinks.
func NewTrack(id string, kind Kind, codec Codec, up Upstream, m *Metrics) *Track {
	size := audioCacheSize
	if kind == KindVideo {
		size = videoCacheSize
	}
	t := &Track{
		ID: id, Kind: kind, Codec: codec, Source: mainSource(kind),
		upstream: up,
		cache:    newPacketCache(size),
		resends:  make(chan resendRequest, 64),
		stats:    m.newTrackStats(),
	}
	t.sinks.Store(&[]Sink{})
	t.lastKeyframeRequest.Store(-int64(keyframeInterval))
	return t
}

// AddSink attaches a sink. A video sink that needs a keyframe to start asks
// for one (RequestKeyframe) once it can receive it.
func (t *Track) AddSink(s Sink) {
	t.sinksMu.Lock()
	old := *t.sinks.Load()
	next := make([]Sink, len(old), len(old)+1)
	copy(next, old)
	next = append(next, s)
	t.sinks.Store(&next)
	t.sinksMu.Unlock()
}

// RemoveSink detaches a sink. When it returns the track's goroutine no
// longer touches the sink. It must not be called from that goroutine.
func (t *Track) RemoveSink(s Sink) {
	t.sinksMu.Lock()
	old := *t.sinks.Load()
	next := make([]Sink, 0, len(old))
	for _, x := range old {
		if x != s {
			next = append(next, x)
		}
	}
	t.sinks.Store(&next)
	t.sinksMu.Unlock()
	t.quiesce()
}

// replaceSink puts repl in old's place in one step, so that no packet goes
// to neither or to both; when it returns the track's goroutine no longer
// touches old. It must not be called from that goroutine.
func (t *Track) replaceSink(old, repl Sink) {
	t.sinksMu.Lock()
	cur := *t.sinks.Load()
	next := make([]Sink, len(cur))
	for i, x := range cur {
		if x == old {
			x = repl
		}
		next[i] = x
	}
	t.sinks.Store(&next)
	t.sinksMu.Unlock()
	t.quiesce()
}

// quiesce waits until a delivery in progress (which may still hold the
// previous sink list) is over: a grace period of at most one packet.
func (t *Track) quiesce() {
	e := t.delivering.Load()
	for e%2 == 1 && t.delivering.Load() == e {
		runtime.Gosched()
	}
}

// Sinks returns the current sinks (do not modify the slice).
func (t *Track) Sinks() []Sink { return *t.sinks.Load() }

// RequestKeyframe forwards a keyframe request to the publisher, at most one
// per keyframeInterval.
func (t *Track) RequestKeyframe() { t.requestKeyframe(nil) }

// requestKeyframe is RequestKeyframe for a subscriber with budget b (nil:
// unbudgeted). A request over the budget is refused before the throttle
// can hold it back: a held-back request goes out later all the same.
func (t *Track) requestKeyframe(b *keyframeBudget) {
	now := monotonic()
	if !b.take(now) {
		t.stats.keyframeRequestsRefused.Add(1)
		return
	}
	last := t.lastKeyframeRequest.Load()
	if now-last < int64(keyframeInterval) || !t.lastKeyframeRequest.CompareAndSwap(last, now) {
		// Held back, not dropped: a viewer that attached just after the
		// last keyframe still needs one.
		t.keyframePending.Store(true)
		t.stats.keyframeRequestsThrottled.Add(1)
		return
	}
	t.askKeyframe()
}

// RequestFirstKeyframe asks for the keyframe a new viewer starts with. No
// throttle stands in front of it: the viewer sees nothing until the
// keyframe comes. Only a request still waiting for its keyframe (sent
// less than keyframeInterval ago, no keyframe since) is left to serve the
// new viewer too, since that keyframe reaches every sink attached by then.
func (t *Track) RequestFirstKeyframe() { t.requestFirstKeyframe(nil) }

// requestFirstKeyframe is RequestFirstKeyframe for a subscriber with
// budget b (nil: unbudgeted), charged only when a request goes out. A
// refused viewer keeps waiting, and keyframeOverdue asks for it once its
// budget allows.
func (t *Track) requestFirstKeyframe(b *keyframeBudget) {
	now := monotonic()
	last := t.lastKeyframeRequest.Load()
	if now-last < int64(keyframeInterval) && t.lastKeyframe.Load() < last {
		return // the keyframe asked for is on its way
	}
	if !b.take(now) {
		t.stats.keyframeRequestsRefused.Add(1)
		return
	}
	t.lastKeyframeRequest.Store(now)
	t.askKeyframe()
}

// keyframeRetry is how long a viewer waiting for its first keyframe waits
// before asking again. A keyframe request travels as RTCP over UDP and can
// be lost, and browsers ignore one that comes too soon after the last
// (libwebrtc: 300 ms); a browser sends no keyframe unasked, so without
// asking again the viewer would stay black.
const keyframeRetry = time.Second

// keyframeOverdue asks again for a keyframe that a waiting viewer, whose
// budget is b, has not had keyframeRetry after the last request. Called by
// the viewer's DownTrack for each packet it must drop meanwhile; the
// compare-and-swap lets one of several waiting viewers send it. Refusals
// here are not counted: they would count packets, not requests.
func (t *Track) keyframeOverdue(arrival int64, b *keyframeBudget) {
	last := t.lastKeyframeRequest.Load()
	if arrival-last < int64(keyframeRetry) || !b.take(arrival) || !t.lastKeyframeRequest.CompareAndSwap(last, arrival) {
		return
	}
	t.askKeyframe()
}

// askKeyframe sends the publisher a keyframe request; the caller has
// stamped lastKeyframeRequest.
func (t *Track) askKeyframe() {
	t.keyframePending.Store(false)
	t.stats.keyframeRequests.Add(1)
	if t.upstream != nil {
		t.upstream.RequestKeyframe(t.ssrc.Load())
	}
}

// Close ends the track's statistics; the source has stopped.
func (t *Track) Close() { t.stats.m.retire(t.stats) }

// SSRC is the source SSRC of the latest packet.
func (t *Track) SSRC() uint32 { return t.ssrc.Load() }

// ForwardFrom forwards every packet read from r until r fails. Reads go
// straight into the packet cache, so nothing is allocated per packet.
//
// The source can be handed over to the fast path (see handOver): from then
// on packets read here are discarded, and ForwardFrom only waits for r to
// end. It reads into a buffer of its own for that reason: a read in
// progress must never write into the cache the new owner uses.
func (t *Track) ForwardFrom(r io.Reader) error {
	buf := make([]byte, MaxPacketSize)
	for {
		n, err := r.Read(buf)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if !t.owner.CompareAndSwap(ownerFree, ownerReader) {
			// Handed over: what pion had queued still arrives here; the
			// fast path forwards it before its next packet.
			select {
			case t.late <- append([]byte(nil), buf[:n]...):
			default:
			}
			continue
		}
		t.forward(copy(t.cache.slot().Buffer(), buf[:n]), monotonic(), nil)
		t.owner.Store(ownerFree)
	}
}

// Who may call forward: the reader of ForwardFrom, until the source is
// handed over to the fast path for good.
const (
	ownerFree int32 = iota
	ownerReader
	ownerFast
)

// handOver makes the fast path the track's only source: it waits for a
// forward in progress on the reader to end, and keeps the reader out.
func (t *Track) handOver() {
	if t.late == nil { // once: the reader may still hold a channel made for an earlier hand-over
		t.late = make(chan []byte, lateBacklog)
	}
	for !t.owner.CompareAndSwap(ownerFree, ownerFast) {
		runtime.Gosched()
	}
}

// lateBacklog bounds the packets pion still delivers to a track's old
// reader after the hand-over (a few at most).
const lateBacklog = 32

// forwardLate forwards what the old reader received after the hand-over;
// the fast path calls it before each packet (a length check when empty).
func (t *Track) forwardLate() {
	for len(t.late) > 0 {
		b := <-t.late
		t.forward(copy(t.cache.slot().Buffer(), b), monotonic(), nil)
	}
}

// Write forwards one RTP packet given as bytes (copied), for sources that
// packetize themselves, such as RTMP ingest.
func (t *Track) Write(b []byte) {
	n := copy(t.cache.slot().Buffer(), b)
	t.forward(n, monotonic(), nil)
}

// forward delivers the packet of n bytes in the cache's next slot to
// every sink; ob, when a socket reader forwards, collects the fast-path
// sends.
func (t *Track) forward(n int, arrival int64, ob *outbox) {
	var f fanOut
	defer t.recoverPacket(&f)
	p := t.cache.slot()
	if err := p.parse(n); err != nil {
		p.n = 0
		t.stats.dropped[dropMalformed].Add(1)
		return
	}
	if old := t.cache.get(p.SSRC, p.SequenceNumber); old != nil && old != p {
		p.n = 0 // keep the earlier copy; this one is a duplicate
		t.stats.dropped[dropDuplicate].Add(1)
		return
	}
	if !t.rate.allow(n, arrival) {
		p.n = 0
		t.stats.dropped[dropOverRate].Add(1)
		return
	}
	p.Arrival = arrival
	if t.Kind == KindVideo {
		if p.Keyframe = isKeyframe(t.Codec.MimeType, p.Payload()); p.Keyframe {
			t.lastKeyframe.Store(arrival)
		}
	}
	t.ssrc.Store(p.SSRC)
	t.cache.commit()
	if t.stats.packets.Load() == 0 {
		t.highestSeq = p.SequenceNumber
	} else if SeqNewer(p.SequenceNumber, t.highestSeq) {
		if p.SequenceNumber < t.highestSeq {
			t.wraps++
		}
		t.highestSeq = p.SequenceNumber
	}
	if t.nacker != nil {
		t.nacker.observe(p)
	}
	t.delivering.Add(1)
	f.p, f.sinks = p, *t.sinks.Load()
	p.out = ob
	for f.at = 0; f.at < len(f.sinks); f.at++ {
		f.sinks[f.at].WriteRTP(p)
	}
	p.out = nil   // the cached packet may be resent later, by another goroutine
	f.sinks = nil // delivered: a panic from here on is not a sink's
	t.serveResends()
	t.delivering.Add(1)
	t.stats.packets.Add(1)
	t.stats.bytes.Add(uint64(n))
	if p.SequenceNumber%latencySampleEvery == 0 {
		t.stats.observeLatency(monotonic() - arrival)
	}
	if t.keyframePending.Load() && arrival-t.lastKeyframeRequest.Load() >= int64(keyframeInterval) {
		t.RequestKeyframe()
	}
}

// fanOut is the delivery forward has in progress, where a panic's
// recovery finds it.
type fanOut struct {
	p     *Packet
	sinks []Sink // nil when no sink is being written to
	at    int    // the sink being written to
}

// recoverPacket, deferred by forward, is the last line of defence of every
// source's goroutine (the media socket's reader among them, which carries
// every fast-path publisher): a panic while forwarding drops this packet,
// is counted and logged, and the source goes on with the next. A sink that
// panicked costs the sinks after it nothing: they get the packet here.
// The delivery is then marked over, or RemoveSink would wait for it
// forever. One deferred call a packet, and none a sink: the forwarding
// path stays as fast as it was, less a few nanoseconds.
func (t *Track) recoverPacket(f *fanOut) {
	v := recover()
	if v == nil {
		return
	}
	panics.Report(panics.Media, v, nil)
	if f.sinks != nil {
		deliverRest(f.p, f.sinks[f.at+1:])
		f.p.out = nil
	}
	if t.delivering.Load()%2 == 1 { // only this goroutine changes it
		t.delivering.Add(1)
	}
}

// deliverRest hands p to sinks, skipping (and counting) any that panics.
func deliverRest(p *Packet, sinks []Sink) {
	for len(sinks) > 0 {
		n := deliver(p, sinks)
		sinks = sinks[min(n+1, len(sinks)):]
	}
}

// deliver hands p to sinks in turn and returns how many took it: all of
// them, or those before the one that panicked (counted, logged).
func deliver(p *Packet, sinks []Sink) (n int) {
	defer panics.Recover(panics.Media, nil)
	for _, s := range sinks {
		s.WriteRTP(p)
		n++
	}
	return n
}

// senderReport is the source's latest RTCP sender report: the pairing of
// its RTP timestamps with wall-clock (NTP) time.
type senderReport struct {
	ssrc    uint32
	ntp     uint64
	rtp     uint32
	arrival int64
}

// SetSenderReport records a sender report received from the publisher.
func (t *Track) SetSenderReport(ssrc uint32, ntp uint64, rtpTime uint32) {
	t.lastSR.Store(&senderReport{ssrc: ssrc, ntp: ntp, rtp: rtpTime, arrival: monotonic()})
}

// resendRequest asks the track's goroutine to resend packets to one
// subscriber: a NACK's packet id and bitmask, in the subscriber's numbering.
type resendRequest struct {
	to  resender
	pid uint16
	blp uint16
}

// resender is a sink that can map its own sequence numbers back to the
// source's and resend a cached packet.
type resender interface {
	sourceSeq(seq uint16) (ssrc uint32, srcSeq uint16, ok bool)
	resend(p *Packet)
	Track() *Track // the track it is attached to now
}

// Resend queues a NACK from a subscriber; the track's goroutine answers it
// from the packet cache after its next packet. A full queue drops the
// request: the subscriber will ask again.
func (t *Track) resend(to resender, pid, blp uint16) {
	t.stats.nacks.Add(1)
	select {
	case t.resends <- resendRequest{to, pid, blp}:
	default:
		t.stats.dropped[dropResendQueueFull].Add(1)
	}
}

func (t *Track) serveResends() {
	for {
		select {
		case r := <-t.resends:
			t.answer(r)
		default:
			return
		}
	}
}

func (t *Track) answer(r resendRequest) {
	if r.to.Track() != t {
		return // the sink moved to another track since it asked
	}
	for i := 0; i <= 16; i++ {
		if i > 0 && r.blp&(1<<(i-1)) == 0 {
			continue
		}
		ssrc, seq, ok := r.to.sourceSeq(r.pid + uint16(i))
		if !ok {
			t.stats.nacksMissed.Add(1)
			continue
		}
		if p := t.cache.get(ssrc, seq); p != nil {
			r.to.resend(p)
			t.stats.nacksAnswered.Add(1)
		} else {
			t.stats.nacksMissed.Add(1)
		}
	}
}

var clockStart = time.Now()

// monotonic is nanoseconds on the monotonic clock since start.
func monotonic() int64 { return int64(time.Since(clockStart)) }

// Monotonic is the clock of Packet.Arrival: nanoseconds since the media
// plane's clock started.
func Monotonic() int64 { return monotonic() }
