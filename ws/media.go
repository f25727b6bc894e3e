package ws

import (
	"errors"

	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
)

// The media requests of the WebSocket protocol. A member holds up to two
// publishes, each a PeerConnection of its own: the camera's (audio, the
// main video and the small one) and the screen share's (the sub-stream
// alone), so sharing the screen never renegotiates the camera. It holds
// one subscription per publisher, whose second video section may carry
// that publisher's screen.

func (c *conn) publish(req *Request, m *trtc.Member) (any, *trtc.Error) {
	var d PublishData
	if e := decodeData(req, &d); e != nil {
		return nil, e
	}
	video, err := wayin.VideoSources(d.Video)
	if err != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "publish: %v", err)
	}
	screen := wayin.ScreenOnly(video)
	ctx, cancel := c.negotiating()
	defer cancel()
	p := m.Grant.Privilege
	sess, answer, err := c.srv.SFU.Publish(ctx, sfu.PublishRequest{Room: m.Room.Key, UserID: m.UserID, Offer: d.SDP, Video: video,
		MinBitrate: c.minKbps, MaxBitrate: c.maxKbps,
		AllowAudio: p.CanSendAudio(), AllowVideo: p.CanSendVideo(), AllowSub: p.CanSendSubVideo()})
	if err != nil {
		return nil, wayin.MediaError(err)
	}
	install := c.media.SwapPublish
	if screen {
		install = c.media.SwapScreen
	}
	if !install(sess) {
		sess.Close()
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "left the room during the publish")
	}
	if !screen {
		trtc.StartRecording(c.srv.Recorder, c.srv.Gate.Rooms, m, c.srv.Logger)
	}
	return SDPData{SDP: answer}, nil
}

// unpublish ends the camera's publish, or with {screen: true} the screen
// share; the other goes on.
func (c *conn) unpublish(req *Request) *trtc.Error {
	var d UnpublishData
	if len(req.Data) > 0 && string(req.Data) != "null" {
		if e := decodeData(req, &d); e != nil {
			return e
		}
	}
	if d.Screen {
		c.media.SwapScreen(nil)
	} else {
		c.media.SwapPublish(nil)
	}
	return nil
}

func (c *conn) subscribe(req *Request, m *trtc.Member) (any, *trtc.Error) {
	var d SubscribeData
	if e := decodeData(req, &d); e != nil {
		return nil, e
	}
	video, err := wayin.VideoSource(d.Video)
	if err != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "subscribe: %v", err)
	}
	if err := c.media.RoomFor(d.UserID); err != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "subscribe: %v", err)
	}
	ctx, cancel := c.negotiating()
	defer cancel()
	if e := c.srv.Gate.Rooms.Fetch(ctx, m.Room.Key, d.UserID); e != nil {
		return nil, e
	}
	p := m.Grant.Privilege
	sess, answer, err := c.srv.SFU.Subscribe(ctx, sfu.SubscribeRequest{Room: m.Room.Key, UserID: m.UserID, Publisher: d.UserID,
		Offer: d.SDP, Video: video, Sub: d.Sub,
		AllowAudio: p.CanRecvAudio(), AllowVideo: p.CanRecvVideo(), AllowSub: p.CanRecvSubVideo()})
	if err != nil {
		return nil, wayin.MediaError(err)
	}
	if err := c.media.SwapSubscription(d.UserID, sess); err != nil {
		sess.Close()
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "subscribe: %v", err)
	}
	return SDPData{SDP: answer, UserID: d.UserID}, nil
}

// setVideo switches a subscription between the publisher's big and small
// streams, at the target's next keyframe, without renegotiating.
func (c *conn) setVideo(req *Request) *trtc.Error {
	var d SetVideoData
	if e := decodeData(req, &d); e != nil {
		return e
	}
	video, err := wayin.VideoSource(d.Video)
	if err == nil && video == sfu.SourceSub {
		err = errSwitchToSub
	}
	if err != nil {
		return trtc.Errorf(trtc.CodeParamCheckFailed, "setVideo: %v", err)
	}
	sess := c.media.Subscription(d.UserID)
	if sess == nil {
		return trtc.Errorf(trtc.CodeParamCheckFailed, "setVideo: not subscribed to %q", d.UserID)
	}
	if err := sess.SetVideo(video); err != nil {
		return trtc.Errorf(trtc.CodeParamCheckFailed, "setVideo: %v", err)
	}
	return nil
}

var errSwitchToSub = errors.New(`video "sub": a subscription switches between main and small; the screen has its own section (subscribe with sub: true)`)
