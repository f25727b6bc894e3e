package websdk

import (
	"context"
	"errors"
	"time"

	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
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

// publishData is the SDK's publish: its offer and which of its four
// senders have a track.
type publishData struct {
	SDP   string `json:"sdp"`
	State *struct {
		Audio    bool `json:"audio"`
		BigVideo bool `json:"bigVideo"`
	} `json:"state"`
	Constraint struct {
		VideoBps int `json:"videoBps"`
	} `json:"constraintConfig"`
}

// sdpReply is the data of publish and subscribe replies.
type sdpReply struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

func (c *conn) publish(req *Request, m *trtc.Member) (any, *trtc.Error) {
	var d publishData
	if err := req.decodeData(&d); err != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
	}
	audio, video := true, true
	if d.State != nil {
		audio, video = d.State.Audio, d.State.BigVideo
	}
	// The SFU takes the microphone and camera sections; the small-video
	// and screen-share sections are answered but carry nothing.
	o, offer, g, e := c.prepareOffer(d.SDP, upAudio, upVideo, audio, video, "publish")
	if e != nil {
		return nil, e
	}
	if c.h.SFU == nil {
		return nil, errNoMediaPlane
	}
	minKbps, maxKbps := videoRange(c.h.bitrate(), d.Constraint.VideoBps)
	ctx, cancel := context.WithTimeout(context.Background(), c.h.negotiationTimeout())
	defer cancel()
	sess, answer, err := c.h.SFU.Publish(ctx, sfu.PublishRequest{Room: m.Room.Key, UserID: m.UserID, Offer: offer,
		MinBitrate: minKbps, MaxBitrate: maxKbps,
		AllowAudio: g.Privilege.CanSendAudio(), AllowVideo: g.Privilege.CanSendVideo()})
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
}

func (c *conn) subscribe(req *Request, m *trtc.Member) (any, *trtc.Error) {
	var d subscribeData
	if err := req.decodeData(&d); err != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
	}
	if d.SrcUserID == "" {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "subscribe names no srcUserId")
	}
	// The small stream is the big one here: the SFU forwards one video.
	video := d.BigVideo || d.SmallVideo
	o, offer, g, e := c.prepareOffer(d.SDP, downAudio, downVideo, d.Audio, video, "subscribe")
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
	sess, answer, err := c.h.SFU.Subscribe(ctx, sfu.SubscribeRequest{Room: m.Room.Key, UserID: m.UserID, Offer: offer,
		Publisher: d.SrcUserID, AllowAudio: g.Privilege.CanRecvAudio(), AllowVideo: g.Privilege.CanRecvVideo()})
	if err != nil {
		return nil, mediaError(err)
	}
	answer, err = asMainStream(answer)
	if err == nil {
		answer, err = o.widen(answer, "inactive")
	}
	if err != nil {
		sess.Close()
		return nil, mediaError(err)
	}
	if !c.sessions.SwapSubscription(d.SrcUserID, sess) {
		sess.Close()
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "left the room during the subscribe")
	}
	return sdpReply{Type: "answer", SDP: answer}, nil
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

// prepareOffer keeps the SDK offer's audio section (at audioAt, when audio
// is wanted) and video section (at videoAt) for the SFU, and returns the
// member's current grant; what names the request in errors.
func (c *conn) prepareOffer(sdp string, audioAt, videoAt int, audio, video bool, what string) (*offer, string, *trtc.Grant, *trtc.Error) {
	o, err := parseOffer(sdp, func(i int, kind string) bool {
		return (i == audioAt && kind == "audio" && audio) || (i == videoAt && kind == "video" && video)
	})
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
