package sfu

import (
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// The fast path. pion hands every received packet through four goroutines
// (socket reader, ICE, DTLS/SRTP demultiplexer, SRTP session) before a
// track can read it, and the wake-ups cost far more CPU than the
// forwarding. Once a session is connected over UDP the SFU takes its SRTP
// over: the socket reader decrypts a publisher's packets and forwards them
// on the spot, and subscribers' packets are encrypted and sent straight to
// the socket. pion keeps doing what it does well: ICE, DTLS, RTCP.
//
// This file moves a session onto the fast path and off it again; the keys
// come from fastpath_keys.go, a publisher's packets are decrypted in
// fastpath_receive.go and a subscriber's encrypted in fastpath_send.go.

// remoteAddr is the remote address of a session's selected ICE pair, and
// whether the pair is ICE-TCP.
func remoteAddr(pc *webrtc.PeerConnection) (addr netip.AddrPort, tcp, ok bool) {
	pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Remote == nil {
		return netip.AddrPort{}, false, false
	}
	ip, err := netip.ParseAddr(pair.Remote.Address)
	if err != nil {
		return netip.AddrPort{}, false, false
	}
	return netip.AddrPortFrom(ip.Unmap(), pair.Remote.Port), pair.Remote.Protocol == webrtc.ICEProtocolTCP, true
}

// connected runs when the session's transport is up (and again once its
// media is set up): the session takes its route, then viewers ask for the
// keyframe they start with.
func (s *Session) connected() {
	s.goFast()
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
// leaves the fast path for a screen; over UDP from a new address the fast
// path moves with it.
func (s *Session) pairChanged() {
	addr, tcp, ok := remoteAddr(s.pc)
	if !ok {
		return
	}
	s.fastMu.Lock()
	defer s.fastMu.Unlock()
	if s.fastClosed {
		return
	}
	for _, d := range s.downs {
		d.setQueued(tcp)
	}
	if s.fastKeys == nil || (addr == s.fastAddr && tcp == s.onTCP) {
		return
	}
	moved := false
	if r := s.route(); r != nil {
		s.routes().removeRoute(s.fastAddr, r)
		moved = !tcp && !s.onTCP && s.room.sfu.t.udp.setRoute(addr, r)
		if !moved {
			s.leaveRoute()
		}
	}
	conn := s.room.sfu.t.udp
	for _, d := range s.downs {
		if o := d.fast.Load(); o != nil {
			if moved {
				d.fast.Store(&fastOut{srtp: o.srtp, conn: conn.sender(addr), addr: addr})
			} else {
				d.fast.Store(nil)
			}
		}
	}
	s.fastAddr, s.onTCP = addr, tcp
	if !moved {
		s.takeRoute()
	}
}

// routes is the table the session's route is in: the media port's, or
// ICE-TCP's.
func (s *Session) routes() *routeTable {
	if s.onTCP {
		return s.room.sfu.t.tcpRoutes
	}
	return s.room.sfu.t.udp.routeTable
}

// route is the session's route, if it has one: its fast-path publisher's,
// or its screen (when it is the route).
func (s *Session) route() route {
	switch {
	case s.fastIn != nil:
		return s.fastIn
	case s.screen != nil:
		return s.screen
	}
	return nil
}

// leaveRoute forgets the session's route (already removed).
func (s *Session) leaveRoute() {
	if s.fastIn != nil {
		s.giveBack()
	}
	s.screen = nil
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

// goFast gives a connected session its route: a UDP session goes onto
// the fast path, and one whose packets pion keeps reading (ICE-TCP, or
// --no-fast-path) gets a screen. It is called when the session connects
// and again when its media is set up, and does what is left to do each
// time.
func (s *Session) goFast() {
	s.fastMu.Lock()
	defer s.fastMu.Unlock()
	if s.fastClosed {
		return
	}
	if s.fastKeys == nil {
		addr, tcp, ok := remoteAddr(s.pc)
		if !ok {
			return
		}
		keys, err := sessionKeys(s.pc)
		if err != nil {
			s.room.sfu.log.Debug("fast path unavailable", "session", s.ID, "err", err)
			return
		}
		s.fastKeys, s.fastAddr, s.onTCP = keys, addr, tcp
		s.guard = newScreen(keys, s.publishing)
		if s.iceUfrag != "" {
			s.room.sfu.t.udp.stun.setScreen(s.iceUfrag, s.guard)
		}
	}
	s.takeRoute()
}

// takeRoute is goFast's work, under fastMu.
func (s *Session) takeRoute() {
	if s.onTCP || s.room.sfu.t.slowPath {
		if s.screen == nil && s.routes().setRoute(s.fastAddr, s.guard) {
			s.screen = s.guard
		}
		return
	}
	conn := s.room.sfu.t.udp
	if s.publishing && s.fastIn == nil {
		ctx, err := srtp.CreateContext(s.fastKeys.RemoteKey, s.fastKeys.RemoteSalt, s.fastKeys.Profile,
			srtp.SRTPReplayProtection(srtpReplayWindow))
		if err != nil {
			return
		}
		fp := &fastPublisher{ctx: ctx, screen: s.guard}
		fp.tracks.Store(&map[uint32]*fastTrack{})
		if !conn.setRoute(s.fastAddr, fp) {
			return // another session already uses this address: stay with pion
		}
		s.fastIn = fp
		for ssrc, t := range s.pubTracks {
			s.takeOverWhenStarted(fp, ssrc, t)
		}
	}
	if !s.publishing && s.screen == nil && conn.setRoute(s.fastAddr, s.guard) {
		s.screen = s.guard
	}
	for _, d := range s.downs {
		if d.fast.Load() != nil {
			continue
		}
		ctx, err := srtp.CreateContext(s.fastKeys.LocalKey, s.fastKeys.LocalSalt, s.fastKeys.Profile)
		if err != nil {
			return
		}
		d.fast.Store(&fastOut{srtp: &outSRTP{ctx: ctx}, conn: conn.sender(s.fastAddr), addr: s.fastAddr})
	}
}

// addFastTrack notes a publisher's track, taking it over at once when the
// session is already on the fast path.
func (s *Session) addFastTrack(ssrc uint32, t *Track, src Source) {
	s.fastMu.Lock()
	defer s.fastMu.Unlock()
	if s.pubTracks == nil {
		s.pubTracks, s.bySource = map[uint32]*Track{}, map[Source]*Track{}
	}
	s.pubTracks[ssrc], s.bySource[src] = t, t
	if s.fastIn != nil {
		s.takeOverWhenStarted(s.fastIn, ssrc, t)
	}
}

// takeOverWhenStarted has fp take a track over once pion's reader has
// forwarded its first packet, so the NACK generator knows where to
// continue and the rollover counter is known. It gives up when the
// session closes or fp is no longer its route (the pair moved to ICE-TCP
// meanwhile, and maybe back). The track's NACK generator goes on: packets
// pion had queued for its reader are dropped at the hand-over, and the
// generator asks for them as the gap they leave.
func (s *Session) takeOverWhenStarted(fp *fastPublisher, ssrc uint32, t *Track) {
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
		if !s.fastClosed && s.fastIn == fp {
			t.handOver()
			fp.add(ssrc, t, t.wraps) // continue pion's rollover counter
		}
	}()
}

// leaveFast removes the session's route, so its address falls back to pion.
func (s *Session) leaveFast() {
	s.fastMu.Lock()
	defer s.fastMu.Unlock()
	s.fastClosed = true
	if r := s.route(); r != nil {
		s.routes().removeRoute(s.fastAddr, r)
	}
	if s.iceUfrag != "" {
		s.room.sfu.t.udp.stun.forget(s.iceUfrag)
	}
}

// watchSTUN has the media port count the addresses the session's STUN
// requests come from (stunLimit), by the ICE ufrag and password of its
// answer.
func (s *Session) watchSTUN(answer string) {
	ufrag, pwd := sdpAttribute(answer, "ice-ufrag"), sdpAttribute(answer, "ice-pwd")
	if ufrag == "" || pwd == "" {
		return
	}
	s.fastMu.Lock()
	defer s.fastMu.Unlock()
	if !s.fastClosed {
		s.iceUfrag = ufrag
		s.room.sfu.t.udp.stun.watch(ufrag, pwd)
	}
}

// sdpAttribute is the value of the first a=key: line of an SDP.
func sdpAttribute(sdp, key string) string {
	_, rest, _ := strings.Cut(sdp, "a="+key+":")
	line, _, _ := strings.Cut(rest, "\n")
	return strings.TrimSpace(line)
}
