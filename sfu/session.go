package sfu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/internal/srtpkeys"
)

// Session is one PeerConnection of a room member: a publisher (WHIP, or a
// signalling publish) or a subscriber (WHEP, or a signalling subscribe).
type Session struct {
	ID         string
	room       *Room
	userID     string
	publishing bool
	// publishes: the sources a publisher's offer sends, so viewers can
	// wait for tracks that are negotiated but have not sent a packet yet.
	publishes []Source
	slot      slot
	// videoMids: the source each of a publisher's video m-sections sends;
	// audioMid: its audio section's, if it has one it may send on.
	videoMids map[string]Source
	audioMid  *string
	// streams counts a publisher's incoming streams (onTrack): at most
	// maxStreams, its sections and a few SSRC changes.
	streams    atomic.Int32
	maxStreams int32
	pc         *webrtc.PeerConnection

	// Publishers: the bitrate range the SFU holds them to, in kbps.
	minKbps, maxKbps int

	// The fast path (fastpath.go): a publisher's tracks by SSRC, a
	// subscriber's DownTracks, and the publisher's route once connected.
	fastMu     sync.Mutex
	pubTracks  map[uint32]*Track
	bySource   map[Source]*Track // a publisher's tracks (SetSending)
	downs      []*DownTrack
	video      *DownTrack            // a subscriber's main-or-small section (SetVideo)
	sections   map[Source]*DownTrack // a subscriber's by what they carry: audio, main (or small), sub
	fastIn     *fastPublisher
	guard      *screen        // the session's screen, once connected (screen.go)
	screen     *screen        // guard, while it is the session's route
	fastAddr   netip.AddrPort // the route's remote address
	onTCP      bool           // and it is ICE-TCP's
	fastKeys   *srtpkeys.Keys
	fastClosed bool
	iceUfrag   string // the session's own, whose STUN sources the media port counts

	closeOnce sync.Mutex
	closed    bool
	done      chan struct{}
}

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Close ends the session: the PeerConnection closes, its tracks end and its
// subscriptions are dropped.
func (s *Session) Close() {
	s.closeOnce.Lock()
	if s.closed {
		s.closeOnce.Unlock()
		return
	}
	s.closed = true
	s.closeOnce.Unlock()
	s.leaveFast()
	if s.pc != nil {
		s.pc.Close()
	}
	s.fastMu.Lock()
	for _, d := range s.downs {
		d.setQueued(false)
	}
	s.fastMu.Unlock()
	s.room.remove(s)
	close(s.done)
	s.room.sfu.log.Info("session closed", "room", s.room.key, "user", s.userID, "session", s.ID, "publisher", s.publishing)
}

func (s *Session) isClosed() bool {
	s.closeOnce.Lock()
	defer s.closeOnce.Unlock()
	return s.closed
}

func (sfu *SFU) newSession(roomKey, userID string, publishes []Source, sl slot) (*Session, error) {
	pc, err := sfu.t.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("sfu: new peer connection: %w", err)
	}
	s, err := sfu.join(roomKey, userID, publishes, sl, pc)
	if err != nil {
		pc.Close()
		return nil, err
	}
	pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(func(*webrtc.ICECandidatePair) {
		go s.pairChanged()
	})
	deadline := time.AfterFunc(sfu.connectTimeout, func() {
		if pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
			s.Close()
		}
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			deadline.Stop()
			go s.connected()
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			go s.Close()
		}
	})
	return s, nil
}

// join enters a new session into its room; a publishing session replaces
// the user's previous publisher.
func (sfu *SFU) join(roomKey, userID string, publishes []Source, sl slot, pc *webrtc.PeerConnection) (*Session, error) {
	s := &Session{ID: newID(), userID: userID, publishing: len(publishes) > 0, publishes: publishes,
		slot: sl, pc: pc, done: make(chan struct{})}
	old, err := sfu.enter(roomKey, s)
	if err != nil {
		return nil, err
	}
	if old != nil {
		go old.Close() // a new publish from the same user replaces the old one
	}
	return s, nil
}

// negotiate applies the offer, lets prepare adjust transceivers, and returns
// the complete answer (ICE gathering is instant: one port, a mux, host
// candidates only).
func (s *Session) negotiate(ctx context.Context, offer string, prepare func() error) (string, error) {
	offer, dataMids, err := refuseDataOffer(offer)
	if err != nil {
		return "", err
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	if err := prepare(); err != nil {
		return "", err
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("sfu: create answer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("sfu: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	s.watchSTUN(s.pc.LocalDescription().SDP)
	return refuseDataAnswer(s.pc.LocalDescription().SDP, dataMids)
}

// PublishRequest is a member's offer to publish.
type PublishRequest struct {
	Room, UserID, Offer string
	// Video is the source each of the offer's video m-sections sends, in
	// order: up to three of SourceMain, SourceSmall and SourceSub. Nil is
	// one main video. A session that sends only SourceSub publishes
	// beside the member's camera instead of replacing it.
	Video []Source
	// Idle lists the sources among those sections that carry no track
	// yet: the TRTC Web SDK puts a track on a section of a running publish
	// without new SDP (a screen beside the camera, the small stream turned
	// on later). Their tracks are forwarded when their packets come, but
	// a viewer does not wait for them as it does for the others.
	Idle []Source
	// MinBitrate and MaxBitrate (kbps) bound the main video's bitrate.
	MinBitrate, MaxBitrate int
	// AllowAudio, AllowVideo and AllowSub are the member's send privileges
	// (TRTC's bits 4, 16 and 64).
	AllowAudio, AllowVideo, AllowSub bool
}

// Errors for refused media kinds, so the ways in can answer with their codes.
var (
	ErrSendAudioDenied = fmt.Errorf("%w: sending audio", ErrPrivilegeDenied)
	ErrSendVideoDenied = fmt.Errorf("%w: sending video", ErrPrivilegeDenied)
	ErrRecvAudioDenied = fmt.Errorf("%w: receiving audio", ErrPrivilegeDenied)
	ErrRecvVideoDenied = fmt.Errorf("%w: receiving video", ErrPrivilegeDenied)
	ErrSendSubDenied   = fmt.Errorf("%w: sending the sub-stream", ErrPrivilegeDenied)
	ErrRecvSubDenied   = fmt.Errorf("%w: receiving the sub-stream", ErrPrivilegeDenied)
	// ErrScreenWithAudio: a screen share published on its own sends video
	// only; with audio it would be the member's camera publish and replace
	// its microphone. A shared screen's sound goes with the camera's audio.
	ErrScreenWithAudio = fmt.Errorf("%w: a screen share sends video only (its sound goes with the camera's audio)", ErrBadOffer)
)

// Publish accepts a publisher's offer and returns the session and answer.
func (sfu *SFU) Publish(ctx context.Context, req PublishRequest) (*Session, string, error) {
	info, err := parseOffer(req.Offer)
	if err != nil {
		return nil, "", err
	}
	switch {
	case info.audio && slices.Equal(req.Video, []Source{SourceSub}) && !slices.Contains(req.Idle, SourceAudio):
		return nil, "", ErrScreenWithAudio
	case info.audio && !req.AllowAudio:
		return nil, "", ErrSendAudioDenied
	}
	mids, err := info.videoSources(req.Video, req.AllowVideo, req.AllowSub)
	if err != nil {
		return nil, "", err
	}
	all, sending := req.sources(info, mids)
	s, err := sfu.newSession(req.Room, req.UserID, sending, slotOf(all))
	if err != nil {
		return nil, "", err
	}
	s.minKbps, s.maxKbps, s.videoMids = req.MinBitrate, req.MaxBitrate, mids
	if info.audio {
		s.audioMid = &info.audioMid
	}
	s.maxStreams = int32(len(all) + maxRestartedStreams)
	s.pc.OnTrack(s.onTrack)
	answer, err := s.negotiate(ctx, req.Offer, func() error {
		for _, tr := range s.pc.GetTransceivers() {
			if tr.Kind() == webrtc.RTPCodecTypeVideo {
				if err := tr.SetCodecPreferences(info.videoCodecs()); err != nil {
					return fmt.Errorf("%w: %v", ErrNoCommonCodec, err)
				}
			}
		}
		return nil
	})
	if err == nil {
		answer, err = withBitrate(answer, req.MinBitrate, req.MaxBitrate)
	}
	if err != nil {
		s.Close()
		return nil, "", err
	}
	sfu.spawn(s.capBitrate)
	return s, answer, nil
}

// sources are the sources of a publish's sections, and those it sends
// now: all but the idle ones, or all if all are idle (it is still a
// publish). Its slot is decided by all: a session that may carry the
// camera is the camera's, even while it sends only a screen.
func (req *PublishRequest) sources(info *offerInfo, mids map[string]Source) (all, sending []Source) {
	for _, src := range Sources {
		if src == SourceAudio && info.audio || slices.Contains(slices.Collect(maps.Values(mids)), src) {
			all = append(all, src)
			if !slices.Contains(req.Idle, src) {
				sending = append(sending, src)
			}
		}
	}
	if len(sending) == 0 {
		return all, all
	}
	return all, sending
}

// maxRestartedStreams is how many more streams than its sections a
// publisher may start (a client that restarts a track under a new SSRC
// without new SDP) before its session is closed: each new SSRC of a
// section without a=ssrc lines was a new transceiver, track and
// goroutines in pion, and a stream event to every member and node.
const maxRestartedStreams = 4

// onTrack turns a publisher's incoming stream into a room track.
func (s *Session) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	if s.streams.Add(1) > s.maxStreams {
		s.room.sfu.log.Warn("publisher closed: it sends more streams than it offered", "room", s.room.key, "user", s.userID,
			"session", s.ID, "streams", s.streams.Load())
		s.Close()
		return
	}
	src := s.sourceOf(remote, recv)
	if src == 0 {
		return // a section the request did not name, or one with port 0
	}
	kind := src.Kind()
	c := remote.Codec()
	t := NewTrack(s.userID+"/"+src.String(), kind,
		Codec{MimeType: c.MimeType, ClockRate: c.ClockRate, Channels: c.Channels, SDPFmtpLine: c.SDPFmtpLine},
		publisherUpstream{s.pc}, s.room.sfu.metrics)
	t.Source = src
	t.rate = newRateCap(s.room.sfu.publishKbps)
	if kind == KindVideo {
		t.nacker = newNackGenerator(s.pc)
	}
	if !s.room.publish(s, t) {
		t.Close()
		return
	}
	s.addFastTrack(uint32(remote.SSRC()), t, src)
	sfu := s.room.sfu
	sfu.spawn(func() { readSenderReports(recv, t) })
	forward := func() {
		if err := t.ForwardFrom(remoteReader{remote}); err != nil && !s.isClosed() {
			sfu.log.Debug("track ended", "track", t.ID, "err", err)
		}
		s.room.unpublish(s, t)
		t.Close()
	}
	if !sfu.spawn(forward) {
		s.room.unpublish(s, t)
		t.Close()
	}
}

// SetSending tells a publisher's session whether one of its sources
// carries a track now, for a client that takes a track off a section and
// puts one back without new SDP (the TRTC Web SDK's publish_state_change):
// a source that stops is unpublished, so viewers see its stream end (and
// small-stream viewers go back to the big one); one that resumes is
// published again. A source whose packets never came is published when
// they come.
func (s *Session) SetSending(src Source, sending bool) {
	s.fastMu.Lock()
	t := s.bySource[src]
	s.fastMu.Unlock()
	switch {
	case t == nil:
	case sending && s.room.track(s.userID, src) != t:
		s.room.publish(s, t)
	case !sending:
		s.room.unpublish(s, t)
	}
}

// sourceOf is the source a publisher's incoming track sends: audio on the
// offer's audio section, or what the request named its video section (0:
// none, such as a section offered with port 0, which the privilege checks
// did not see).
func (s *Session) sourceOf(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) Source {
	for _, tr := range s.pc.GetTransceivers() {
		if tr.Receiver() != recv {
			continue
		}
		if remote.Kind() == webrtc.RTPCodecTypeAudio {
			if s.audioMid != nil && tr.Mid() == *s.audioMid {
				return SourceAudio
			}
			return 0
		}
		return s.videoMids[tr.Mid()]
	}
	return 0
}

// remoteReader adapts pion's TrackRemote (whose Read also returns
// interceptor attributes) to io.Reader.
type remoteReader struct{ r *webrtc.TrackRemote }

func (r remoteReader) Read(b []byte) (int, error) {
	n, _, err := r.r.Read(b)
	return n, err
}

// publisherUpstream sends keyframe requests to a WebRTC publisher.
type publisherUpstream struct{ pc *webrtc.PeerConnection }

func (u publisherUpstream) RequestKeyframe(ssrc uint32) {
	u.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}

// readSenderReports keeps the publisher's latest sender report on the track
// for lip-sync translation.
func readSenderReports(recv *webrtc.RTPReceiver, t *Track) {
	readRTCP(recv.ReadRTCP, func(pkts []rtcp.Packet) {
		for _, p := range pkts {
			if sr, ok := p.(*rtcp.SenderReport); ok {
				t.SetSenderReport(sr.SSRC, sr.NTPTime, sr.RTPTime)
			}
		}
	})
}

// readRTCP hands every RTCP compound packet read to handle until the
// transport closes; one that does not parse is skipped.
func readRTCP(read func() ([]rtcp.Packet, interceptor.Attributes, error), handle func([]rtcp.Packet)) {
	for {
		pkts, _, err := read()
		if err != nil {
			if isClosedErr(err) {
				return
			}
			continue
		}
		handleRTCP(handle, pkts)
	}
}

// handleRTCP gives one compound packet to handle; a panic drops the packet
// (counted, logged) instead of the session's RTCP reader and the process.
func handleRTCP(handle func([]rtcp.Packet), pkts []rtcp.Packet) {
	defer panics.Recover(panics.Media, nil)
	handle(pkts)
}

func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, webrtc.ErrConnectionClosed)
}

// bitrateInterval is how often a publisher is told its cap (REMB).
const bitrateInterval = time.Second

// capBitrate sends the publisher a REMB every second: its maxBitrate, or
// lower when a viewer's estimate is lower, but not under minBitrate. A REMB
// caps a browser's whole uplink, so a small stream and a screen share in the
// same PeerConnection add their own share to it.
func (s *Session) capBitrate() {
	s.every(bitrateInterval, func() {
		var total uint64
		var ssrcs []uint32
		for _, src := range s.videoMids {
			t := s.room.track(s.userID, src)
			if t == nil || t.SSRC() == 0 {
				continue
			}
			limit := capFor(t, s.minKbps, s.maxKbps)
			if src == SourceSmall {
				limit /= smallShare
			}
			total += limit
			ssrcs = append(ssrcs, t.SSRC())
		}
		if len(ssrcs) > 0 {
			s.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: float32(total), SSRCs: ssrcs}})
		}
	})
}

// smallShare: the small stream is sent at about a quarter of the big one's
// bitrate (the Web SDK's 320x240 against 640x480).
const smallShare = 4

// every runs f each interval until the session ends.
func (s *Session) every(interval time.Duration, f func()) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-tick.C:
			f()
		}
	}
}

// capFor is the bitrate (bits/s) a publisher may send given its viewers.
func capFor(t *Track, minKbps, maxKbps int) uint64 {
	limit := uint64(maxKbps) * 1000
	if e := t.Estimate(); e > 0 && e < limit {
		limit = e
	}
	return max(limit, uint64(minKbps)*1000)
}

// Estimate is the lowest estimate of the track's sinks, in bits/s (0 when
// none has one).
func (t *Track) Estimate() uint64 {
	var low uint64
	for _, sink := range t.Sinks() {
		if e, ok := sink.(Estimator); ok {
			if v := e.Estimate(); v > 0 && (low == 0 || v < low) {
				low = v
			}
		}
	}
	return low
}
