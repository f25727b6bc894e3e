package sfu

import (
	"errors"
	"maps"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/panics"
)

// The fast path. pion hands every received packet through four goroutines
// (socket reader, ICE, DTLS/SRTP demultiplexer, SRTP session) before a
// track can read it, and the wake-ups cost far more CPU than the
// forwarding. Once a session is connected over UDP the SFU takes its SRTP
// over: the socket reader decrypts a publisher's packets and forwards them
// on the spot, and subscribers' packets are encrypted and sent straight to
// the socket. pion keeps doing what it does well: ICE, DTLS, RTCP.

// srtpKeys are a connected session's SRTP master keys.
type srtpKeys struct {
	profile               srtp.ProtectionProfile
	localKey, localSalt   []byte
	remoteKey, remoteSalt []byte
}

var errNoKeys = errors.New("sfu: SRTP keys not available")

// sessionKeys derives the SRTP keys from the session's DTLS connection as
// RFC 5764 says. pion does not export its DTLS connection, so it is read
// from the transport by reflection (pinned pion version; if a newer pion
// moves it, sessions stay on pion's path and assertFastPath in the SFU's
// tests fails).
func sessionKeys(pc *webrtc.PeerConnection) (*srtpKeys, error) {
	dt := pc.SCTP().Transport()
	f := reflect.ValueOf(dt).Elem().FieldByName("conn")
	if !f.IsValid() || f.Type() != reflect.TypeOf((*dtls.Conn)(nil)) {
		return nil, errNoKeys
	}
	conn := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(*dtls.Conn)
	if conn == nil {
		return nil, errNoKeys
	}
	state, ok := conn.ConnectionState()
	profile, ok2 := conn.SelectedSRTPProtectionProfile()
	if !ok || !ok2 {
		return nil, errNoKeys
	}
	cfg := srtp.Config{Profile: srtp.ProtectionProfile(profile)}
	// The answerer's DTLS role is in its own answer.
	isClient := strings.Contains(pc.LocalDescription().SDP, "a=setup:active")
	if err := cfg.ExtractSessionKeysFromDTLS(&state, isClient); err != nil {
		return nil, err
	}
	return &srtpKeys{profile: cfg.Profile,
		localKey: cfg.Keys.LocalMasterKey, localSalt: cfg.Keys.LocalMasterSalt,
		remoteKey: cfg.Keys.RemoteMasterKey, remoteSalt: cfg.Keys.RemoteMasterSalt}, nil
}

// srtpReplayWindow is the replay window of the fast path's decryption, as
// pion's default.
const srtpReplayWindow = 64

// remoteUDP is the remote address of a session's selected ICE pair, when
// it is UDP.
func remoteUDP(pc *webrtc.PeerConnection) (netip.AddrPort, bool) {
	pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Remote == nil || pair.Remote.Protocol != webrtc.ICEProtocolUDP {
		return netip.AddrPort{}, false
	}
	ip, err := netip.ParseAddr(pair.Remote.Address)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip.Unmap(), pair.Remote.Port), true
}

// fastPublisher decrypts one publisher's SRTP on the socket's reader
// goroutine and forwards it. Only that goroutine uses ctx and hdr.
type fastPublisher struct {
	ctx    *srtp.Context
	hdr    rtp.Header
	mu     sync.Mutex // serialises changes to tracks
	tracks atomic.Pointer[map[uint32]*fastTrack]
	busy   atomic.Int32 // packets being handled (for giveBack)
}

// fastTrack is a track on the fast path and the SRTP rollover counter its
// decryption continues from (pion may have seen the numbers wrap).
type fastTrack struct {
	t      *Track
	roc    uint32
	rocSet bool // reader goroutine only
}

func (f *fastPublisher) handle(b []byte) (handled bool) {
	f.busy.Add(1)
	defer f.done(&handled)
	ssrc := uint32(b[8])<<24 | uint32(b[9])<<16 | uint32(b[10])<<8 | uint32(b[11])
	ft := (*f.tracks.Load())[ssrc]
	if ft == nil {
		return false // a stream pion has not announced yet
	}
	if !ft.rocSet { // on this goroutine: the context is not safe for concurrent use
		f.ctx.SetROC(ssrc, ft.roc)
		ft.rocSet = true
	}
	t := ft.t
	t.forwardLate()
	slot := t.cache.slot()
	out, err := f.ctx.DecryptRTP(slot.Buffer()[:0], b, &f.hdr)
	if err != nil {
		slot.n = 0 // the slot may be half overwritten: no NACK may find it
		t.stats.dropped[dropMalformed].Add(1)
		return true
	}
	t.forward(len(out), monotonic())
	return true
}

// done ends handle. It is the last line of defence of the media socket's
// reader, which every fast-path publisher shares: a panic while handling a
// packet drops the packet (counted, logged), not the reader and every
// call on the node.
func (f *fastPublisher) done(handled *bool) {
	f.busy.Add(-1)
	if v := recover(); v != nil {
		*handled = true // pion must not get a packet half handled
		panics.Report(panics.Media, v, nil)
	}
}

// add routes a track's SSRC to it (the track is already handed over).
func (f *fastPublisher) add(ssrc uint32, t *Track, roc uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	next := maps.Clone(*f.tracks.Load())
	next[ssrc] = &fastTrack{t: t, roc: roc}
	f.tracks.Store(&next)
}

// fastOut sends one DownTrack's packets straight to the subscriber. Only
// the goroutine of the track the DownTrack is attached to uses it.
type fastOut struct {
	srtp  *outSRTP // shared by the fastOuts of one DownTrack across moves
	conn  *mediaConn
	addr  netip.AddrPort
	hdr   rtp.Header
	plain [MaxPacketSize]byte
	out   [MaxPacketSize + 32]byte // room for the auth tag
}

// outSRTP is a DownTrack's own encryption context. The rollover counter
// continues pion's (set on first use). Track goroutine only.
type outSRTP struct {
	ctx    *srtp.Context
	rocSet bool
}

// send encrypts and writes a packet: the header as given, then payload and
// padding.
func (o *fastOut) send(h *rtp.Header, payload []byte) error {
	n, err := h.MarshalTo(o.plain[:])
	if err != nil {
		return err
	}
	n += copy(o.plain[n:], payload)
	if h.Padding && h.PaddingSize > 0 {
		pad := int(h.PaddingSize)
		clear(o.plain[n : n+pad-1])
		o.plain[n+pad-1] = h.PaddingSize
		n += pad
	}
	out, err := o.srtp.ctx.EncryptRTP(o.out[:0], o.plain[:n], &o.hdr)
	if err != nil {
		return err
	}
	_, err = o.conn.WriteToAddrPort(out, o.addr)
	return err
}

// nackGenerator asks a WebRTC publisher for the packets that did not
// arrive, on either path (pion's NACK interceptor would tick every 100 ms
// for every connection, and sees nothing of the fast path). It runs on the
// track's goroutine: gaps are noted as packets arrive and asked for at most
// nackTries times, nackInterval apart.
type nackGenerator struct {
	send     func(ssrc uint32, pairs []rtcp.NackPair)
	started  bool
	next     uint16 // the sequence number expected next
	missing  [nackWindow]missingPacket
	count    int
	lastSent int64
	pairs    []rtcp.NackPair
}

func newNackGenerator(pc *webrtc.PeerConnection) *nackGenerator {
	return &nackGenerator{send: func(ssrc uint32, pairs []rtcp.NackPair) {
		pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: pairs}})
	}}
}

type missingPacket struct {
	seq   uint16
	tries uint8
}

const (
	nackWindow   = 64
	nackTries    = 3
	nackInterval = int64(20e6) // 20 ms: a loopback or LAN round trip and then some
)

// observe records an arriving packet and, now and then, sends NACKs.
func (g *nackGenerator) observe(p *Packet) {
	switch {
	case !g.started:
		g.started, g.next = true, p.SequenceNumber+1
	case p.SequenceNumber == g.next:
		g.next++
	case seqNewer(p.SequenceNumber, g.next): // a gap
		for s := g.next; s != p.SequenceNumber && g.count < nackWindow; s++ {
			g.missing[g.count] = missingPacket{seq: s}
			g.count++
		}
		g.next = p.SequenceNumber + 1
	default: // a late packet: it is no longer missing
		for i := 0; i < g.count; i++ {
			if g.missing[i].seq == p.SequenceNumber {
				g.count--
				g.missing[i] = g.missing[g.count]
				break
			}
		}
	}
	if g.count > 0 && p.Arrival-g.lastSent >= nackInterval {
		g.flush(p.SSRC, p.Arrival)
	}
}

func (g *nackGenerator) flush(ssrc uint32, now int64) {
	g.pairs = g.pairs[:0]
	kept := 0
	for i := 0; i < g.count; i++ {
		m := g.missing[i]
		if m.tries >= nackTries || !seqNewer(g.next, m.seq) || g.next-m.seq > 1000 {
			continue // given up on
		}
		m.tries++
		g.missing[kept] = m
		kept++
		g.pairs = appendNack(g.pairs, m.seq)
	}
	g.count = kept
	g.lastSent = now
	if len(g.pairs) > 0 {
		g.send(ssrc, g.pairs)
	}
}

// appendNack adds seq to NACK pairs (packet id plus a 16-bit mask).
func appendNack(pairs []rtcp.NackPair, seq uint16) []rtcp.NackPair {
	for i := range pairs {
		if d := seq - pairs[i].PacketID; d >= 1 && d <= 16 {
			pairs[i].LostPackets |= rtcp.PacketBitmap(1 << (d - 1))
			return pairs
		}
	}
	return append(pairs, rtcp.NackPair{PacketID: seq})
}

// connected runs when the session's transport is up (and again once its
// media is set up): the fast path takes over, then viewers ask for the
// keyframe they start with.
func (s *Session) connected() {
	if !s.room.sfu.t.slowPath {
		s.goFast()
	}
	s.pairChanged()
	s.fastMu.Lock()
	downs := s.downs
	s.fastMu.Unlock()
	for _, d := range downs {
		d.transportReady()
	}
}

// pairChanged follows the ICE pair the session uses. Over ICE-TCP a viewer
// gets a send queue (a slow reader can block TCP writes) and the session
// leaves the fast path; over UDP from a new address the fast path moves
// with it.
func (s *Session) pairChanged() {
	pair, err := s.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		return
	}
	tcp := pair.Local != nil && pair.Local.Protocol == webrtc.ICEProtocolTCP
	addr, udp := remoteUDP(s.pc)
	s.fastMu.Lock()
	defer s.fastMu.Unlock()
	if s.fastClosed {
		return
	}
	for _, d := range s.downs {
		d.setQueued(tcp)
	}
	if s.fastKeys == nil || (udp && addr == s.fastAddr) {
		return
	}
	conn := s.room.sfu.t.udp
	if s.fastIn != nil {
		conn.removeRoute(s.fastAddr, s.fastIn)
		if !udp || !conn.setRoute(addr, s.fastIn) {
			s.giveBack()
		}
	}
	for _, d := range s.downs {
		if o := d.fast.Load(); o != nil {
			if udp {
				d.fast.Store(&fastOut{srtp: o.srtp, conn: conn, addr: addr})
			} else {
				d.fast.Store(nil)
			}
		}
	}
	s.fastAddr = addr
}

// giveBack returns a publisher's tracks to pion's readers (its route is
// already gone): once the socket reader is done with a packet in hand, the
// readers own the tracks again.
func (s *Session) giveBack() {
	fp := s.fastIn
	s.fastIn = nil
	for fp.busy.Load() != 0 {
		runtime.Gosched()
	}
	for _, ft := range *fp.tracks.Load() {
		ft.t.owner.Store(ownerFree)
	}
}

// goFast moves a connected UDP session onto the fast path. It is called
// when the session connects and again when its media is set up, and does
// what is left to do each time.
func (s *Session) goFast() {
	addr, ok := remoteUDP(s.pc)
	if !ok {
		return // ICE-TCP stays with pion (and its send queue)
	}
	s.fastMu.Lock()
	defer s.fastMu.Unlock()
	if s.fastClosed {
		return
	}
	if s.fastKeys == nil {
		keys, err := sessionKeys(s.pc)
		if err != nil {
			s.room.sfu.log.Debug("fast path unavailable", "session", s.ID, "err", err)
			return
		}
		s.fastKeys, s.fastAddr = keys, addr
	}
	conn := s.room.sfu.t.udp
	if s.publishing && s.fastIn == nil {
		ctx, err := srtp.CreateContext(s.fastKeys.remoteKey, s.fastKeys.remoteSalt, s.fastKeys.profile,
			srtp.SRTPReplayProtection(srtpReplayWindow))
		if err != nil {
			return
		}
		fp := &fastPublisher{ctx: ctx}
		fp.tracks.Store(&map[uint32]*fastTrack{})
		if !conn.setRoute(addr, fp) {
			return // another session already uses this address: stay with pion
		}
		s.fastIn = fp
		for ssrc, t := range s.pubTracks {
			s.takeOverWhenStarted(ssrc, t)
		}
	}
	for _, d := range s.downs {
		if d.fast.Load() != nil {
			continue
		}
		ctx, err := srtp.CreateContext(s.fastKeys.localKey, s.fastKeys.localSalt, s.fastKeys.profile)
		if err != nil {
			return
		}
		d.fast.Store(&fastOut{srtp: &outSRTP{ctx: ctx}, conn: conn, addr: addr})
	}
}

// addFastTrack notes a publisher's track, taking it over at once when the
// session is already on the fast path.
func (s *Session) addFastTrack(ssrc uint32, t *Track) {
	s.fastMu.Lock()
	defer s.fastMu.Unlock()
	if s.pubTracks == nil {
		s.pubTracks = map[uint32]*Track{}
	}
	s.pubTracks[ssrc] = t
	if s.fastIn != nil {
		s.takeOverWhenStarted(ssrc, t)
	}
}

// takeOverWhenStarted takes a track over once pion's reader has forwarded
// its first packet, so the NACK generator knows where to continue and the
// rollover counter is known. It gives up when the session closes.
func (s *Session) takeOverWhenStarted(ssrc uint32, t *Track) {
	go func() {
		for t.stats.packets.Load() == 0 {
			select {
			case <-s.done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		s.fastMu.Lock()
		defer s.fastMu.Unlock()
		if !s.fastClosed {
			s.takeOver(ssrc, t)
		}
	}()
}

// takeOver gives a track's packets to the fast path. Its NACK generator
// goes on: packets pion had queued for its reader are dropped at the
// hand-over, and the generator asks for them as the gap they leave.
func (s *Session) takeOver(ssrc uint32, t *Track) {
	t.handOver()
	s.fastIn.add(ssrc, t, t.wraps) // continue pion's rollover counter
}

// leaveFast removes the session's route, so its address falls back to pion.
func (s *Session) leaveFast() {
	s.fastMu.Lock()
	defer s.fastMu.Unlock()
	s.fastClosed = true
	if s.fastIn != nil {
		s.room.sfu.t.udp.removeRoute(s.fastAddr, s.fastIn)
	}
}
