package websdk

import (
	"context"
	"errors"
	"time"

	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// negotiationTimeout bounds one offer/answer; the SDK gives up after 10 s.
const negotiationTimeout = 9 * time.Second

func (h *Handler) negotiationTimeout() time.Duration {
	if h.negotiation > 0 {
		return h.negotiation
	}
	return negotiationTimeout
}

// codeH264NotSupported is the subscribe code the SDK turns into its
// NOT_SUPPORTED_H264 error (16457): the viewer's browser cannot decode the
// publisher's codec.
const codeH264NotSupported = 77393

// errNoMediaPlane refuses media on a handler that serves signalling only
// (a configuration for tests and the fuzz target, never a crash).
var errNoMediaPlane = trtc.Errorf(trtc.CodeParamCheckFailed, "this server has no media plane")

// publishData is the SDK's publish: its offer, which of its four senders
// have a track, and whether the stream is a screen.
type publishData struct {
	SDP        string        `json:"sdp"`
	Screen     bool          `json:"screen"`
	State      *publishState `json:"state"`
	Constraint struct {
		VideoBps int `json:"videoBps"`
	} `json:"constraintConfig"`
}

type publishState struct {
	Audio      bool `json:"audio"`
	BigVideo   bool `json:"bigVideo"`
	SmallVideo bool `json:"smallVideo"`
	AuxVideo   bool `json:"auxVideo"`
}

// state is what the SDK says its senders carry. An SDK that sends no
// state publishes its microphone and camera.
func (d *publishData) state() publishState {
	if d.State == nil {
		return publishState{Audio: true, BigVideo: true}
	}
	return *d.State
}

// carries says whether the uplink section at i has a track.
func (st publishState) carries(i int) bool {
	return [...]bool{upAudio: st.Audio, upVideo: st.BigVideo, upSmall: st.SmallVideo, upAux: st.AuxVideo}[i]
}

// upSources are the sources of the uplink's sections, by index.
var upSources = [...]sfu.Source{upAudio: sfu.SourceAudio, upVideo: sfu.SourceMain, upSmall: sfu.SourceSmall, upAux: sfu.SourceSub}

// uplink says which uplink sections go to the SFU: those with a track, and
// the empty ones the member may send on, since the SDK puts a track on
// them later without new SDP (a screen beside the camera, the small
// stream turned on after publishing).
func uplink(st publishState, p tlssig.Privilege) func(i int, kind string) bool {
	may := [...]bool{upAudio: p.CanSendAudio(), upVideo: p.CanSendVideo(), upSmall: p.CanSendVideo(), upAux: p.CanSendSubVideo()}
	return func(i int, kind string) bool {
		if i >= len(upSources) || kind != upSources[i].Kind().String() {
			return false
		}
		return st.carries(i) || may[i]
	}
}

// sdpReply is the data of publish and subscribe replies.
type sdpReply struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

// publish hands the SFU every section that has a track now: microphone,
// camera, the camera's small copy and the auxiliary (screen) video, each
// as its source. The others are answered but carry nothing: a track the
// SDK adds later comes without new SDP (docs/trtc-web-sdk.md).
func (c *conn) publish(req *Request, m *trtc.Member) (any, *trtc.Error) {
	var d publishData
	if err := req.decodeData(&d); err != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
	}
	st := d.state()
	g := c.currentGrant()
	if g == nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "left the room during the publish")
	}
	o, offer, g, e := c.prepareOffer(d.SDP, uplink(st, g.Privilege), "publish")
	if e != nil {
		return nil, e
	}
	// A screen the SDK publishes as a stream's main video (its documented
	// screen-share recipe: a second client) is the camera's source for the
	// SFU, but sharing a screen is what bit 64 grants.
	if d.Screen && !g.Privilege.CanSendSubVideo() {
		return nil, mediaError(sfu.ErrSendSubDenied)
	}
	var video, idle []sfu.Source
	for i, src := range upSources {
		if !o.kept(i) {
			continue
		}
		if src != sfu.SourceAudio {
			video = append(video, src)
		}
		if !st.carries(i) {
			idle = append(idle, src)
		}
	}
	if c.h.SFU == nil {
		return nil, errNoMediaPlane
	}
	minKbps, maxKbps := videoRange(c.h.bitrate(), d.Constraint.VideoBps)
	ctx, cancel := context.WithTimeout(context.Background(), c.h.negotiationTimeout())
	defer cancel()
	sess, answer, err := c.h.SFU.Publish(ctx, sfu.PublishRequest{Room: m.Room.Key, UserID: m.UserID, Offer: offer, Video: video, Idle: idle,
		MinBitrate: minKbps, MaxBitrate: maxKbps,
		AllowAudio: g.Privilege.CanSendAudio(), AllowVideo: g.Privilege.CanSendVideo(), AllowSub: g.Privilege.CanSendSubVideo()})
	if err != nil {
		return nil, mediaError(err)
	}
	answer, err = o.widen(answer, "recvonly")
	if err != nil {
		sess.Close()
		return nil, mediaError(err)
	}
	if !c.sessions.SwapPublish(sess) {
		sess.Close()
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "left the room during the publish")
	}
	return sdpReply{Type: "answer", SDP: answer}, nil
}

// publishStateChange: the SDK put a track on a section of its running
// publish, or took one off, without new SDP. The SFU stops or resumes
// forwarding that section's source.
func (c *conn) publishStateChange(req *Request, _ *trtc.Member) (any, *trtc.Error) {
	var d publishData
	if err := req.decodeData(&d); err != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
	}
	if d.State == nil {
		return nil, nil
	}
	if sess := c.sessions.Publish(); sess != nil {
		for i, src := range upSources {
			sess.SetSending(src, d.State.carries(i))
		}
	}
	return nil, nil
}

func (c *conn) unpublish(*Request, *trtc.Member) (any, *trtc.Error) {
	c.sessions.SwapPublish(nil)
	return nil, nil
}

// subscribeData is the SDK's subscribe: one downlink per remote user, and
// what it wants of that user's streams.
type subscribeData struct {
	SDP        string `json:"sdp"`
	SrcUserID  string `json:"srcUserId"`
	Audio      bool   `json:"audio"`
	BigVideo   bool   `json:"bigVideo"`
	SmallVideo bool   `json:"smallVideo"`
	AuxVideo   bool   `json:"auxVideo"`
}

// mainVideo is what the downlink's main video section receives: the small
// stream when the viewer asked for it instead of the big one.
func mainVideo(big, small bool) sfu.Source {
	if small && !big {
		return sfu.SourceSmall
	}
	return sfu.SourceMain
}

// request is the SFU subscription for the sections kept of the SDK's
// three: audio, main video (big or small) and the auxiliary video, which
// the SFU answers with the sub-stream's SSRC at once, so that a screen
// shared later arrives without new SDP. A viewer that wants only the
// screen has one video section, the auxiliary one.
func (d *subscribeData) request() sfu.SubscribeRequest {
	main := d.BigVideo || d.SmallVideo
	if !main && d.AuxVideo {
		return sfu.SubscribeRequest{Publisher: d.SrcUserID, Video: sfu.SourceSub}
	}
	return sfu.SubscribeRequest{Publisher: d.SrcUserID, Video: mainVideo(d.BigVideo, d.SmallVideo), Sub: d.AuxVideo}
}

func (d *subscribeData) receives(i int, kind string) bool {
	switch i {
	case downAudio:
		return kind == "audio" && d.Audio
	case downVideo:
		return kind == "video" && (d.BigVideo || d.SmallVideo)
	case downAux:
		return kind == "video" && d.AuxVideo
	}
	return false
}

func (c *conn) subscribe(req *Request, m *trtc.Member) (any, *trtc.Error) {
	var d subscribeData
	if err := req.decodeData(&d); err != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
	}
	if d.SrcUserID == "" {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "subscribe names no srcUserId")
	}
	if err := c.sessions.RoomFor(d.SrcUserID); err != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "subscribe: %v", err)
	}
	o, offer, g, e := c.prepareOffer(d.SDP, d.receives, "subscribe")
	if e != nil {
		return nil, e
	}
	if c.h.SFU == nil {
		return nil, errNoMediaPlane
	}
	if e := c.h.Gate.Rooms.Fetch(context.Background(), m.Room.Key, d.SrcUserID); e != nil {
		return nil, e
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.h.negotiationTimeout())
	defer cancel()
	r := d.request()
	r.Room, r.UserID, r.Offer = m.Room.Key, m.UserID, offer
	r.AllowAudio, r.AllowVideo, r.AllowSub = g.Privilege.CanRecvAudio(), g.Privilege.CanRecvVideo(), g.Privilege.CanRecvSubVideo()
	sess, answer, err := c.h.SFU.Subscribe(ctx, r)
	if err != nil {
		return nil, mediaError(err)
	}
	answer, err = withStreamIDs(answer, o.mid(downAux))
	if err == nil {
		answer, err = o.widen(answer, "inactive")
	}
	if err != nil {
		sess.Close()
		return nil, mediaError(err)
	}
	if err := c.sessions.SwapSubscription(d.SrcUserID, sess); err != nil {
		sess.Close()
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "subscribe: %v", err)
	}
	return sdpReply{Type: "answer", SDP: answer}, nil
}

// subscribeChangeData is subscribe_change: what the viewer now wants of
// the downlink from srcTinyId, without new SDP. A field left out changes
// nothing.
type subscribeChangeData struct {
	SrcTinyID  uint64 `json:"srcTinyId"`
	Audio      *bool  `json:"audio"`
	BigVideo   *bool  `json:"bigVideo"`
	SmallVideo *bool  `json:"smallVideo"`
	AuxVideo   *bool  `json:"auxVideo"`
}

// subscribeChange turns the downlink's sections off and on
// (subscribe(stream, {audio, video}), unsubscribing one of two streams)
// and switches its main video between the big and small streams
// (setRemoteVideoStreamType), each at the new stream's next keyframe.
func (c *conn) subscribeChange(req *Request, m *trtc.Member) (any, *trtc.Error) {
	var d subscribeChangeData
	if err := req.decodeData(&d); err != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
	}
	for _, u := range c.h.Gate.Rooms.Members(m) {
		if TinyID(c.appKey, u.UserID) != d.SrcTinyID {
			continue
		}
		if sess := c.sessions.Subscription(u.UserID); sess != nil {
			if err := d.apply(sess); err != nil {
				c.log.Debug("subscribe_change", "publisher", u.UserID, "err", err)
			}
		}
		break
	}
	return nil, nil
}

// apply changes a subscription as the SDK asked. A section the downlink
// does not have (no screen was offered) is an error only for the log.
func (d *subscribeChangeData) apply(sess *sfu.Session) error {
	var errs []error
	if d.Audio != nil {
		errs = append(errs, sess.SetReceiving(sfu.SourceAudio, *d.Audio))
	}
	if d.AuxVideo != nil {
		errs = append(errs, sess.SetReceiving(sfu.SourceSub, *d.AuxVideo))
	}
	if d.BigVideo != nil || d.SmallVideo != nil {
		big, small := d.BigVideo != nil && *d.BigVideo, d.SmallVideo != nil && *d.SmallVideo
		errs = append(errs, sess.SetReceiving(sfu.SourceMain, big || small))
		if big || small {
			errs = append(errs, sess.SetVideo(mainVideo(big, small)))
		}
	}
	return errors.Join(errs...)
}

type unsubscribeData struct {
	SrcUserID string `json:"srcUserId"`
}

func (c *conn) unsubscribe(req *Request, _ *trtc.Member) (any, *trtc.Error) {
	var d unsubscribeData
	if err := req.decodeData(&d); err != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
	}
	c.sessions.SwapSubscription(d.SrcUserID, nil)
	return nil, nil
}

// roleData is change_role: 20 anchor, 21 audience, with the privateMapKey
// for the new role.
type roleData struct {
	Role          int    `json:"role"`
	PrivateMapKey string `json:"privateMapKey"`
}

// changeRole: an audience stops publishing (the SDK closes its uplink
// without unpublish). A new privateMapKey replaces the privileges, checked
// as at join.
func (c *conn) changeRole(req *Request, m *trtc.Member) (any, *trtc.Error) {
	var d roleData
	if err := req.decodeData(&d); err != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
	}
	if d.PrivateMapKey != "" {
		a, e := c.h.Gate.Admit(context.Background(), trtc.Request{Intent: trtc.Renew,
			Credentials: trtc.Credentials{SDKAppID: c.app, UserID: c.userID, UserSig: c.userSig, PrivateMapKey: d.PrivateMapKey, Room: m.Room.ID}})
		if e != nil {
			return nil, e
		}
		g := a.Grant
		c.mu.Lock()
		if c.member == m {
			c.grant = g
		}
		c.mu.Unlock()
	}
	if d.Role == roleAudience {
		c.sessions.SwapPublish(nil)
	}
	return nil, nil
}

// prepareOffer keeps the sections of the SDK's offer that want says carry
// media for the SFU, and returns the member's current grant; what names
// the request in errors.
func (c *conn) prepareOffer(sdp string, want func(i int, kind string) bool, what string) (*offer, string, *trtc.Grant, *trtc.Error) {
	o, err := parseOffer(sdp, want)
	if err != nil {
		return nil, "", nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
	}
	forSFU, err := o.forSFU()
	if err != nil {
		return nil, "", nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
	}
	g := c.currentGrant()
	if g == nil {
		return nil, "", nil, trtc.Errorf(trtc.CodeParamCheckFailed, "left the room during the %s", what)
	}
	return o, forSFU, g, nil
}

func (c *conn) currentGrant() *trtc.Grant {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.grant
}

// mediaError maps the media plane's refusals to TRTC codes as the other
// entry points do, but for a codec mismatch, which the SDK knows by its own
// code.
func mediaError(err error) *trtc.Error {
	if errors.Is(err, sfu.ErrCodecMismatch) {
		return &trtc.Error{Code: codeH264NotSupported, Message: err.Error()}
	}
	return wayin.MediaError(err)
}
