package sfu

import (
	"context"
	"fmt"
	mathrand "math/rand/v2"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// SubscribeRequest is a viewer's offer to receive a publisher's tracks.
type SubscribeRequest struct {
	Room, UserID, Offer string
	Publisher           string // whose tracks
	// AllowAudio and AllowVideo are the viewer's receive privileges.
	AllowAudio, AllowVideo bool
}

// Subscribe answers a viewer's offer with the publisher's current audio and
// video. The subscription outlives a republish: the viewer keeps receiving
// when the publisher comes back.
func (sfu *SFU) Subscribe(ctx context.Context, req SubscribeRequest) (*Session, string, error) {
	info, err := admitOffer(req.Offer, req.AllowAudio, req.AllowVideo, ErrRecvAudioDenied, ErrRecvVideoDenied)
	if err != nil {
		return nil, "", err
	}
	// The viewer's session holds the room open while it waits.
	s, err := sfu.newSession(req.Room, req.UserID, nil)
	if err != nil {
		return nil, "", err
	}
	room := s.room
	sources := room.awaitTracks(ctx, req.Publisher, info)
	for _, t := range sources {
		if t.Kind == KindVideo && !info.accepts(t.Codec.MimeType) {
			s.Close()
			return nil, "", fmt.Errorf("%w: %s", ErrCodecMismatch, t.Codec.MimeType)
		}
	}
	if len(sources) == 0 {
		s.Close()
		return nil, "", fmt.Errorf("%w: %q", ErrNotPublishing, req.Publisher)
	}
	// The subscriber's senders exist before the offer is applied, so that
	// the offer's m-sections take them with the SSRCs chosen here.
	var downs []*DownTrack
	var senders []*webrtc.RTPSender
	ssrcs := downlinkSSRCs()
	for _, t := range sources {
		dt := NewDownTrack(req.Publisher+"-"+t.Kind.String(), req.Publisher, t.Kind, t.Codec)
		tr, err := s.pc.AddTransceiverFromTrack(dt, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly,
			SendEncodings: []webrtc.RTPEncodingParameters{{RTPCodingParameters: webrtc.RTPCodingParameters{SSRC: ssrcs[t.Kind]}}}})
		if err != nil {
			s.Close()
			return nil, "", fmt.Errorf("sfu: add %s track: %w", t.Kind, err)
		}
		downs, senders = append(downs, dt), append(senders, tr.Sender())
	}
	answer, err := s.negotiate(ctx, req.Offer, func() error { return nil })
	if err != nil {
		s.Close()
		return nil, "", err
	}
	for i, dt := range downs {
		room.subscribe(dt, subscription{publisher: req.Publisher, kind: dt.kind, session: s})
		sender := senders[i]
		sfu.spawn(func() { readSubscriberRTCP(sender, dt) })
	}
	s.fastMu.Lock()
	s.downs = downs
	s.fastMu.Unlock()
	if s.pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
		go s.connected()
	}
	sfu.spawn(func() { s.sendReports(downs) })
	return s, answer, nil
}

// trackWait bounds how long a viewer's offer waits for a publisher's
// negotiated tracks to produce their first packet.
const trackWait = 3 * time.Second

// awaitTracks returns the publisher's tracks of the kinds the viewer asks
// for. A kind the publisher negotiated but has not sent yet is waited for
// (briefly), so a viewer that comes early still gets both audio and video.
func (r *Room) awaitTracks(ctx context.Context, publisher string, info *offerInfo) []*Track {
	deadline := time.Now().Add(trackWait)
	for {
		var tracks []*Track
		missing := false
		for _, k := range r.publishedKinds(publisher) {
			if (k == KindAudio && !info.audio) || (k == KindVideo && !info.video) {
				continue
			}
			if t := r.track(publisher, k); t != nil {
				tracks = append(tracks, t)
			} else {
				missing = true
			}
		}
		if !missing || time.Now().After(deadline) || ctx.Err() != nil {
			return tracks
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// accepts reports whether the offer can receive a video codec.
func (o *offerInfo) accepts(mime string) bool {
	return (mime == MimeH264 && o.h264) || (mime == MimeVP8 && o.vp8)
}

// readSubscriberRTCP feeds a viewer's NACKs, keyframe requests and REMBs
// to its DownTrack.
func readSubscriberRTCP(sender *webrtc.RTPSender, dt *DownTrack) {
	readRTCP(sender.ReadRTCP, dt.HandleRTCP)
}

// reportInterval: browsers need sender reports for lip sync; once a second
// is what WebRTC endpoints send.
const reportInterval = time.Second

func (s *Session) sendReports(downs []*DownTrack) {
	s.every(reportInterval, func() {
		var pkts []rtcp.Packet
		now := monotonic()
		for _, dt := range downs {
			if sr, ok := dt.SenderReport(now); ok {
				pkts = append(pkts, sr)
			}
		}
		if len(pkts) > 0 {
			s.pc.WriteRTCP(pkts)
		}
	})
}

// The TRTC Web SDK tells a downlink's main video from its screen share by
// byte 2 of the video SSRC (docs/trtc-web-sdk.md): 2 is the main video,
// 7 the sub-stream. Every subscriber gets SSRCs of that shape (audio 1), so
// the SDK classifies what it receives by what it is, not by chance.
const (
	ssrcTagAudio = 0x01
	ssrcTagMain  = 0x02
)

// downlinkSSRCs picks a subscriber's SSRCs: random but for byte 2, the
// tag, which also keeps them distinct.
func downlinkSSRCs() map[Kind]webrtc.SSRC {
	tagged := func(tag uint32) webrtc.SSRC {
		return webrtc.SSRC(mathrand.Uint32()&0xff00ffff | tag<<16)
	}
	return map[Kind]webrtc.SSRC{KindAudio: tagged(ssrcTagAudio), KindVideo: tagged(ssrcTagMain)}
}
