package sfu

import (
	"context"
	"fmt"
	mathrand "math/rand/v2"
	"slices"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// SubscribeRequest is a viewer's offer to receive a publisher's tracks.
type SubscribeRequest struct {
	Room, UserID, Offer string
	Publisher           string // whose tracks
	// Video is what the offer's first video section receives: SourceMain
	// (the default), SourceSmall (the main stream while the publisher
	// sends no small one) or SourceSub.
	Video Source
	// Sub: the offer's second video section receives the sub-stream, as
	// the TRTC Web SDK's auxiliary section does. It is answered with its
	// SSRC at once, and carries the screen whenever the publisher shares
	// one. Without AllowSub it is left unanswered, not refused.
	Sub bool
	// AllowAudio, AllowVideo and AllowSub are the viewer's receive
	// privileges (TRTC's bits 8, 32 and 128).
	AllowAudio, AllowVideo, AllowSub bool
}

// downlink is one video or audio section of a subscriber's answer: the
// source it follows and the track serving it now, if any.
type downlink struct {
	source Source
	track  *Track
	tag    uint32 // byte 2 of its SSRC
}

// Subscribe answers a viewer's offer with the publisher's current audio and
// video. The subscription outlives a republish: the viewer keeps receiving
// when the publisher comes back.
func (sfu *SFU) Subscribe(ctx context.Context, req SubscribeRequest) (*Session, string, error) {
	info, err := admitOffer(req.Offer, req.AllowAudio, ErrRecvAudioDenied)
	if err != nil {
		return nil, "", err
	}
	wants, err := req.wants(info)
	if err != nil {
		return nil, "", err
	}
	// The viewer's session holds the room open while it waits.
	s, err := sfu.newSession(req.Room, req.UserID, nil, slotMain)
	if err != nil {
		return nil, "", err
	}
	links, err := s.room.awaitDownlinks(ctx, req.Publisher, info, wants)
	if err != nil {
		s.Close()
		return nil, "", err
	}
	answer, err := s.subscribe(ctx, req, info, links)
	if err != nil {
		s.Close()
		return nil, "", err
	}
	return s, answer, nil
}

// wants lists the sources the offer's sections receive, in the order of
// its sections of each kind.
func (req *SubscribeRequest) wants(info *offerInfo) ([]Source, error) {
	var wants []Source
	if info.audio {
		wants = append(wants, SourceAudio)
	}
	if !info.video {
		return wants, nil
	}
	first := req.Video
	if first == 0 {
		first = SourceMain
	}
	switch {
	case first.Kind() != KindVideo:
		return nil, fmt.Errorf("sfu: %s is not a video source", first)
	case first == SourceSub && !req.AllowSub:
		return nil, ErrRecvSubDenied
	case first != SourceSub && !req.AllowVideo:
		return nil, ErrRecvVideoDenied
	}
	wants = append(wants, first)
	if req.Sub && req.AllowSub && first != SourceSub && len(info.videoMids) > 1 {
		wants = append(wants, SourceSub)
	}
	return wants, nil
}

// subscribe adds the session's senders, answers the offer and starts
// following the publisher.
func (s *Session) subscribe(ctx context.Context, req SubscribeRequest, info *offerInfo, links []downlink) (string, error) {
	// The subscriber's senders exist before the offer is applied, so that
	// the offer's m-sections take them, in order, with the SSRCs chosen
	// here.
	var downs []*DownTrack
	var senders []*webrtc.RTPSender
	for _, l := range links {
		codec := info.pendingCodec(l.source.Kind())
		if l.track != nil {
			codec = l.track.Codec
		}
		dt := NewDownTrack(req.Publisher+"-"+l.source.String(), req.Publisher, l.source.Kind(), codec)
		dt.keyframes = s.room.keyframeBudget(s.userID, req.Publisher, l.source)
		tr, err := s.pc.AddTransceiverFromTrack(dt, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly,
			SendEncodings: []webrtc.RTPEncodingParameters{{RTPCodingParameters: webrtc.RTPCodingParameters{SSRC: downlinkSSRC(l.tag)}}}})
		if err != nil {
			return "", fmt.Errorf("sfu: add %s track: %w", l.source, err)
		}
		downs, senders = append(downs, dt), append(senders, tr.Sender())
	}
	answer, err := s.negotiate(ctx, req.Offer, func() error { return nil })
	if err != nil {
		return "", err
	}
	sfu := s.room.sfu
	for i, dt := range downs {
		s.room.subscribe(dt, subscription{publisher: req.Publisher, source: links[i].source, session: s})
		sender := senders[i]
		sfu.spawn(func() { readSubscriberRTCP(sender, dt) })
	}
	s.fastMu.Lock()
	s.downs = downs
	s.sections = make(map[Source]*DownTrack, len(links))
	for i, l := range links {
		section := l.source
		if section == SourceSmall {
			section = SourceMain
		}
		s.sections[section] = downs[i]
		if section == SourceMain {
			s.video = downs[i]
		}
	}
	s.fastMu.Unlock()
	if s.pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
		go s.connected()
	}
	sfu.spawn(func() { s.sendReports(downs) })
	return answer, nil
}

// SetVideo switches what a subscriber's first video section receives
// between the publisher's main (big) and small streams. The switch happens
// at the target's next keyframe, asked for now, and the subscriber's
// numbering continues without a gap.
func (s *Session) SetVideo(src Source) error {
	if src != SourceMain && src != SourceSmall {
		return fmt.Errorf("sfu: a subscriber switches between the main and small streams, not to %s", src)
	}
	s.fastMu.Lock()
	video := s.video
	s.fastMu.Unlock()
	if video == nil {
		return fmt.Errorf("sfu: the session receives no main video")
	}
	s.room.resubscribe(video, src)
	return nil
}

// SetReceiving pauses (false) or resumes (true) the subscriber's section
// that carries section: SourceAudio, SourceMain (the main video, big or
// small) or SourceSub. A paused section sends nothing; on resume, video
// starts again at a keyframe, asked for at once, and the numbering runs on
// without a gap. This is a TRTC client turning a remote stream off and on
// without new SDP.
func (s *Session) SetReceiving(section Source, on bool) error {
	if section == SourceSmall {
		section = SourceMain
	}
	s.fastMu.Lock()
	d := s.sections[section]
	s.fastMu.Unlock()
	if d == nil {
		return fmt.Errorf("sfu: the session has no %s section", section)
	}
	d.SetPaused(!on)
	return nil
}

// trackWait bounds how long a viewer's offer waits for a publisher's
// negotiated tracks to produce their first packet.
const trackWait = 3 * time.Second

// awaitDownlinks finds the publisher's tracks for the sources the viewer
// wants. A source the publisher negotiated but has not sent yet is waited
// for (briefly), so a viewer that comes early still gets both audio and
// video. A section the publisher does not send is left out, except that
// with a sub-stream section every video section is answered: a TRTC
// client never renegotiates its downlink, and a screen shared later must
// find its section there.
func (r *Room) awaitDownlinks(ctx context.Context, publisher string, info *offerInfo, wants []Source) ([]downlink, error) {
	deadline := time.Now().Add(trackWait)
	keepVideo := videoSections(wants) > 1
	for {
		published := r.publishedSources(publisher)
		var links []downlink
		missing, found := false, false
		for _, want := range wants {
			src := servingSource(want, published)
			t := r.track(publisher, src)
			switch {
			case t != nil:
				found = true
			case slices.Contains(published, src):
				missing = true
			case !(keepVideo && want.Kind() == KindVideo):
				continue
			}
			if t != nil && t.Kind == KindVideo && !info.accepts(t.Codec.MimeType) {
				return nil, fmt.Errorf("%w: %s", ErrCodecMismatch, t.Codec.MimeType)
			}
			links = append(links, downlink{source: want, track: t, tag: ssrcTag(want)})
		}
		if !missing || time.Now().After(deadline) || ctx.Err() != nil {
			if !found && !keepVideo {
				return nil, fmt.Errorf("%w: %q", ErrNotPublishing, publisher)
			}
			return links, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func videoSections(wants []Source) (n int) {
	for _, w := range wants {
		if w.Kind() == KindVideo {
			n++
		}
	}
	return n
}

// servingSource is the source that serves a viewer wanting want, among
// those a publisher sends: the small stream falls back to the main one.
func servingSource(want Source, published []Source) Source {
	if want == SourceSmall && !slices.Contains(published, SourceSmall) {
		return SourceMain
	}
	return want
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
	ssrcTagSub   = 0x07
)

// ssrcTag is byte 2 of the SSRC of a downlink of source src; it also
// keeps the SSRCs of one answer distinct.
func ssrcTag(src Source) uint32 {
	switch src {
	case SourceAudio:
		return ssrcTagAudio
	case SourceSub:
		return ssrcTagSub
	}
	return ssrcTagMain
}

// downlinkSSRC picks a subscriber's SSRC: random but for byte 2, the tag.
func downlinkSSRC(tag uint32) webrtc.SSRC {
	return webrtc.SSRC(mathrand.Uint32()&0xff00ffff | tag<<16)
}

// pendingCodec is the codec a section answered before its track exists
// will carry: the one Publish picks from an offer like this one.
func (o *offerInfo) pendingCodec(k Kind) Codec {
	mime := MimeOpus
	if k == KindVideo {
		mime = o.videoCodecs()[0].MimeType
	}
	for _, c := range roomCodecs {
		if c.MimeType == mime {
			return Codec{MimeType: c.MimeType, ClockRate: c.ClockRate, Channels: c.Channels, SDPFmtpLine: c.SDPFmtpLine}
		}
	}
	return Codec{}
}
