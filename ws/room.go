package ws

import (
	"cmp"
	"context"
	"strconv"

	"github.com/trtcd/trtcd/trtc"
)

// The room requests of the WebSocket protocol: join and leave, mute, the
// member list; publish and subscribe are media.go's.

// roomRequest handles a member's requests.
func (c *conn) roomRequest(req *Request, m *trtc.Member) (any, *trtc.Error) {
	rooms := c.srv.Gate.Rooms
	rooms.Heartbeat(m) // any request shows the client is alive
	switch req.Type {
	case "heartbeat", "candidate": // answers carry every candidate (ICE-lite), trickled ones are not needed
		return nil, nil
	case "publish":
		return c.publish(req, m)
	case "unpublish":
		return nil, c.unpublish(req)
	case "subscribe":
		return c.subscribe(req, m)
	case "unsubscribe":
		var u UserData
		if e := decodeData(req, &u); e != nil {
			return nil, e
		}
		c.media.SwapSubscription(u.UserID, nil)
		return nil, nil
	case "setVideo":
		return nil, c.setVideo(req)
	case "mute":
		return nil, c.mute(req, m)
	case "members":
		return rooms.Members(m), nil
	case "leave":
		c.leave("leave")
		return nil, nil
	}
	return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "unknown request type %q", req.Type)
}

func (c *conn) join(req *Request) (any, *trtc.Error) {
	c.mu.Lock()
	joined := c.member != nil
	c.mu.Unlock()
	if joined {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "already in a room; leave first")
	}
	var d JoinData
	if e := decodeData(req, &d); e != nil {
		return nil, e
	}
	return c.enter(d)
}

// enter checks the request and enters the room through the gate (join,
// joinClassroom); the connection is then signed in as the member too.
func (c *conn) enter(d JoinData) (JoinResult, *trtc.Error) {
	room, e := trtc.ParseRoom(formatRoomID(d.RoomID), d.StrRoomID)
	if e != nil {
		return JoinResult{}, e
	}
	if d.PureAudioPushMod < 0 || d.PureAudioPushMod > 2 {
		return JoinResult{}, trtc.Errorf(trtc.CodeParamCheckFailed, "pureAudioPushMod %d: want 0, 1 or 2", d.PureAudioPushMod)
	}
	if err := trtc.CheckRecordID(string(d.RecordID)); err != nil {
		return JoinResult{}, trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
	}
	minKbps, maxKbps, err := c.srv.Bitrate.Clamp(d.MinBitrate, d.MaxBitrate)
	if err != nil {
		return JoinResult{}, trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
	}
	c.mu.Lock()
	following := c.follower
	c.mu.Unlock()
	a, e := c.srv.Gate.Admit(c.ctx, trtc.Request{Intent: trtc.Enter,
		Credentials: trtc.Credentials{SDKAppID: d.SDKAppID, UserID: d.UserID, UserSig: d.UserSig,
			PrivateMapKey: d.PrivateMapKey, Room: room},
		Template: d.Template, Record: trtc.RecordParams{RecordID: string(d.RecordID), PureAudio: d.PureAudioPushMod},
		Peer: c, Heartbeats: true, Unfollow: following}) // a join ends a follow
	if e != nil {
		return JoinResult{}, e
	}
	m := a.Member
	c.mu.Lock()
	c.member, c.minKbps, c.maxKbps, c.left = m, minKbps, maxKbps, false
	if c.follower == following {
		c.follower = nil
	}
	c.media.Open(m.Room.Capacity)
	c.mu.Unlock()
	c.signInAs(d.SDKAppID, d.UserID, d.UserSig)
	others := a.Others
	if others == nil {
		others = []trtc.MemberInfo{} // a JSON array, never null
	}
	return JoinResult{RoomUUID: m.Room.UUID, Template: m.Room.Template, Capacity: m.Room.Capacity, Members: others,
		MinBitrate: minKbps, MaxBitrate: maxKbps}, nil
}

// negotiating is the context of one offer/answer.
func (c *conn) negotiating() (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.ctx, cmp.Or(c.srv.negotiation, negotiationTimeout))
}

// leave ends the membership and every media session; the socket stays.
func (c *conn) leave(reason string) { c.detach()(reason) }

// detach forgets the membership at once, so no later request acts for it,
// and returns the slow part: closing the media sessions and leaving.
func (c *conn) detach() func(reason string) {
	c.mu.Lock()
	m := c.member
	c.member = nil
	c.left = c.left || m != nil
	closeMedia := c.media.Take()
	c.mu.Unlock()
	return func(reason string) {
		closeMedia()
		if m != nil {
			c.srv.Gate.Rooms.Leave(m, reason)
		}
	}
}

// formatRoomID is a numeric room id as the gate parses it: "" for none.
func formatRoomID(id uint32) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatUint(uint64(id), 10)
}

// mute records m's mute state from a mute request; fields left out keep
// their value. The others are told.
func (c *conn) mute(req *Request, m *trtc.Member) *trtc.Error {
	var d MuteData
	if e := decodeData(req, &d); e != nil {
		return e
	}
	rooms := c.srv.Gate.Rooms
	info := rooms.InfoOf(m)
	if d.Audio != nil {
		info.AudioMuted = *d.Audio
	}
	if d.Video != nil {
		info.VideoMuted = *d.Video
	}
	rooms.Mute(m, info.AudioMuted, info.VideoMuted)
	return nil
}
