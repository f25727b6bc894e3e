package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/peer"
	"github.com/trtcd/trtcd/internal/rawudp"
)

// rawPublisher sends one participant's synthetic H.264 and Opus on its
// session's socket: pre-built payloads, stamped with the send time,
// encrypted into reused buffers and sent a tick's worth at a time with
// sendmmsg; and it reads the server's SRTCP for keyframe requests. The
// engine's goroutine runs both.
type rawPublisher struct {
	*rawSession
	frames       *rawFrames
	video, audio rawOutTrack
	sent         *atomic.Int64 // the pair's count of packets sent
	closed       atomic.Bool

	// The engine's goroutine only.
	srtp                 *srtp.Context
	batch                *rawudp.Batch
	gso                  bool // the kernel takes segmented sends
	hdr                  rtp.Header
	plain                [1500]byte
	wire                 *[rawWireSize]byte // the batch's encrypted packets, back to back
	used                 int                // bytes of wire in the batch
	group                rawGroup
	pending              int // packets in the batch
	nextAudio, nextVideo time.Time
	nextKeyframe         time.Time

	// The server's SRTCP, read on the engine's goroutine too.
	srtcp          *srtp.Context
	rtcpBuf        [1500]byte
	rtcpHdr        rtcp.Header
	keyframeWanted atomic.Bool
	keyframeAsks   atomic.Int64
}

// rawWireSize holds a batch of encrypted packets: a keyframe at several
// Mbit/s and a few audio frames.
const rawWireSize = 128 << 10

// rawMaxPacket bounds one encrypted packet: RTP header, the largest
// payload, the SRTP tag.
const rawMaxPacket = 1500

// rawGroup is packets of one track, back to back in wire, that go to the
// kernel as one segmented send (UDP GSO): a video frame's FU-A fragments
// are all the same size but the last.
type rawGroup struct {
	track       *rawOutTrack
	start, size int // where in wire; each packet's size
	count       int
	closed      bool // a shorter packet ended it
}

// rawOutTrack is one sent stream's RTP state.
type rawOutTrack struct {
	local *boundTrack
	ssrc  uint32
	pt    uint8
	seq   uint16
	ts    uint32
}

// boundTrack is a pion track that is never written: it only learns the
// SSRC and payload type pion negotiated for it, which the engine sends with.
type boundTrack struct {
	*webrtc.TrackLocalStaticRTP
	bound atomic.Uint64 // ssrc<<8 | payload type, 0 until bound
}

func (t *boundTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	c, err := t.TrackLocalStaticRTP.Bind(ctx)
	if err == nil {
		t.bound.Store(uint64(ctx.SSRC())<<8 | uint64(c.PayloadType))
	}
	return c, err
}

// rawBindTimeout bounds the wait for pion to bind the tracks once connected.
const rawBindTimeout = 5 * time.Second

// startRawPublisher publishes through publish (WHIP or /ws) and returns
// once the session is connected and sending is set up; the engine then
// sends for it.
func startRawPublisher(ctx context.Context, e *rawEngine, publish signal, sent *atomic.Int64) (*rawPublisher, error) {
	s, err := newRawSession(e)
	if err != nil {
		return nil, err
	}
	p := &rawPublisher{rawSession: s, frames: e.frames, sent: sent, gso: e.gso, wire: new([rawWireSize]byte)}
	if err := p.addTracks(); err != nil {
		s.Close()
		return nil, err
	}
	if err := exchange(ctx, s.pc, publish); err != nil {
		s.Close()
		return nil, fmt.Errorf("publish: %w", err)
	}
	if err := p.setUp(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("publish: %w", err)
	}
	return p, nil
}

func (p *rawPublisher) addTracks() error {
	for _, t := range []struct {
		track *rawOutTrack
		codec webrtc.RTPCodecCapability
		id    string
	}{{&p.video, peer.H264, "video"}, {&p.audio, peer.Opus, "audio"}} {
		local, err := webrtc.NewTrackLocalStaticRTP(t.codec, t.id, "raw")
		if err != nil {
			return err
		}
		t.track.local = &boundTrack{TrackLocalStaticRTP: local}
		if _, err := p.pc.AddTransceiverFromTrack(t.track.local,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			return err
		}
	}
	return nil
}

// setUp waits for the connection and the tracks' binding, then takes the
// socket's media: from here on pion only keeps ICE alive.
func (p *rawPublisher) setUp(ctx context.Context) error {
	if err := p.connect(ctx); err != nil {
		return err
	}
	deadline := time.Now().Add(rawBindTimeout)
	for p.video.local.bound.Load() == 0 || p.audio.local.bound.Load() == 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: tracks not bound", errRawNotConnected)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, t := range []*rawOutTrack{&p.video, &p.audio} {
		b := t.local.bound.Load()
		t.ssrc, t.pt = uint32(b>>8), uint8(b)
	}
	var err error
	if p.srtp, err = p.keys.LocalContext(); err != nil {
		return err
	}
	if p.srtcp, err = p.keys.RemoteContext(); err != nil {
		return err
	}
	p.batch = rawudp.NewBatch(p.remote)
	now := time.Now()
	p.nextAudio, p.nextVideo, p.nextKeyframe = now, now, now // a keyframe first
	p.sock.takeMedia(p.receiveRTCP)
	return nil
}

// rawMaxLag: a sender that fell further behind than this (a stalled
// machine) skips ahead rather than bursting the backlog at the server.
const rawMaxLag = time.Second

// sendDue sends every frame due by now: the engine's goroutine calls it on
// every tick.
func (p *rawPublisher) sendDue(now time.Time) {
	if now.Sub(p.nextAudio) > rawMaxLag || now.Sub(p.nextVideo) > rawMaxLag {
		p.nextAudio, p.nextVideo = now, now
	}
	for !p.nextAudio.After(now) {
		p.queue(&p.audio, p.frames.audio, true, 1)
		p.audio.ts += rawAudioTicks
		p.nextAudio = p.nextAudio.Add(rawAudioInterval)
	}
	for !p.nextVideo.After(now) {
		p.queueVideoFrame(now)
		p.nextVideo = p.nextVideo.Add(p.frames.frameInterval)
	}
	p.flush()
}

// queueVideoFrame queues a keyframe when one is due or was asked for (a
// PLI or FIR answered on the next frame, as an encoder does), else a delta.
func (p *rawPublisher) queueVideoFrame(now time.Time) {
	frame := p.frames.delta
	if p.keyframeWanted.Swap(false) || !now.Before(p.nextKeyframe) {
		frame = p.frames.keyframe
		p.nextKeyframe = now.Add(rawKeyframeEvery)
	}
	for i, payload := range frame {
		p.queue(&p.video, payload, i == len(frame)-1, stampOffset(payload))
	}
	p.video.ts += p.frames.frameTicks
}

// queue builds one packet (stamped at stampAt in its payload unless -1),
// encrypts it into wire after the batch's other packets and adds it to the
// batch.
func (p *rawPublisher) queue(t *rawOutTrack, payload []byte, marker bool, stampAt int) {
	if p.batch.Len()+1 >= rawudp.BatchSize || p.used+rawMaxPacket > len(p.wire) {
		p.flush() // room for this packet's group, and for the packet
	}
	p.hdr = rtp.Header{Version: 2, Marker: marker, PayloadType: t.pt, SequenceNumber: t.seq,
		Timestamp: t.ts, SSRC: t.ssrc, CSRC: p.hdr.CSRC[:0], Extensions: p.hdr.Extensions[:0]}
	n, err := p.hdr.MarshalTo(p.plain[:])
	if err != nil {
		return
	}
	at := n
	n += copy(p.plain[n:], payload)
	if stampAt >= 0 {
		peer.Stamp(p.plain[at+stampAt : n])
	}
	t.seq++
	out, err := p.srtp.EncryptRTP(p.wire[p.used:p.used:len(p.wire)], p.plain[:n], &p.hdr)
	if err != nil {
		return
	}
	p.addToGroup(t, len(out))
	p.used += len(out)
}

// addToGroup puts the packet of size bytes just written at wire[used:] in
// the open group when it can go with it, else in a new one.
func (p *rawPublisher) addToGroup(t *rawOutTrack, size int) {
	g := &p.group
	if g.count > 0 && g.track == t && !g.closed && size <= g.size && p.gso &&
		g.count < rawudp.MaxSegments && p.used+size-g.start <= rawudp.MaxSegmentedSize {
		g.count++
		g.closed = size < g.size
		return
	}
	p.endGroup()
	*g = rawGroup{track: t, start: p.used, size: size, count: 1}
}

// endGroup adds the open group to the batch.
func (p *rawPublisher) endGroup() {
	g := &p.group
	if g.count == 0 {
		return
	}
	p.batch.AddSegments(p.wire[g.start:p.used], g.size)
	p.pending += g.count
	*g = rawGroup{}
}

// flush sends the batch.
func (p *rawPublisher) flush() {
	p.endGroup()
	if msgs := p.batch.Len(); msgs > 0 {
		// What a full send buffer dropped (EAGAIN) does not count as sent.
		if n, err := p.sock.sock.WriteBatch(p.batch); err == nil && n == msgs {
			p.sent.Add(int64(p.pending))
		}
	}
	p.used, p.pending = 0, 0
}

// receiveRTCP reads the server's SRTCP for keyframe requests.
func (p *rawPublisher) receiveRTCP(d []byte, _ time.Time) {
	if !isRTCP(d) {
		return
	}
	plain, err := p.srtcp.DecryptRTCP(p.rtcpBuf[:0], d, &p.rtcpHdr)
	if err != nil {
		return
	}
	if asksKeyframe(plain) {
		p.keyframeAsks.Add(1)
		p.keyframeWanted.Store(true)
	}
}

// RTCP payload-specific feedback (RFC 4585) and its keyframe requests.
const (
	rtcpPSFB = 206
	fmtPLI   = 1
	fmtFIR   = 4 // RFC 5104
)

// asksKeyframe walks a compound RTCP packet for a PLI or FIR.
func asksKeyframe(b []byte) bool {
	for len(b) >= 4 {
		size := (int(b[2])<<8 | int(b[3]) + 1) * 4
		if size > len(b) {
			return false
		}
		if f := b[0] & 0x1f; b[1] == rtcpPSFB && (f == fmtPLI || f == fmtFIR) {
			return true
		}
		b = b[size:]
	}
	return false
}
