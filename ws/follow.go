package ws

import "github.com/trtcd/trtcd/trtc"

// The follow request (docs/protocol.md): a mini program's member is its
// RTMP pusher, and the webrtc-room component's /ws connection follows the
// room for the same userId, hearing the room's events without being a
// second member (which would force the pusher offline).

// FollowData is the follow request: join's credentials and room.
type FollowData struct {
	SDKAppID      uint32 `json:"sdkAppId"`
	UserID        string `json:"userId"`
	UserSig       string `json:"userSig"`
	RoomID        uint32 `json:"roomId"`
	StrRoomID     string `json:"strRoomId"`
	PrivateMapKey string `json:"privateMapKey"`
}

// FollowResult is the follow reply's data.
type FollowResult struct {
	// RoomUUID is the room's UUID now; "" while nobody is in it (the
	// pusher has not entered yet).
	RoomUUID string `json:"roomUUID"`
	// Members are the room's members other than the follower's userId
	// (the component's SUCC_MEMBERS_LIST).
	Members []trtc.MemberInfo `json:"members"`
}

func (c *conn) follow(req *Request) (any, *trtc.Error) {
	c.mu.Lock()
	busy := c.member != nil || c.follower != nil
	c.mu.Unlock()
	if busy {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "already in a room or following one; quit first")
	}
	var d FollowData
	if e := decodeData(req, &d); e != nil {
		return nil, e
	}
	room, e := trtc.ParseRoom(formatRoomID(d.RoomID), d.StrRoomID)
	if e != nil {
		return nil, e
	}
	a, e := c.srv.Gate.Admit(c.ctx, trtc.Request{Intent: trtc.Follow, Peer: c,
		Credentials: trtc.Credentials{SDKAppID: d.SDKAppID, UserID: d.UserID, UserSig: d.UserSig,
			PrivateMapKey: d.PrivateMapKey, Room: room}})
	if e != nil {
		return nil, e
	}
	c.mu.Lock()
	c.follower = a.Follower
	c.mu.Unlock()
	select {
	case <-c.done: // closed meanwhile: its teardown may have looked before the follower was set
		c.unfollow()
	default:
	}
	return FollowResult{RoomUUID: a.RoomUUID, Members: a.Others}, nil
}

// followerRequest handles what a follower may ask besides quit and join:
// the member list, and heartbeats it need not send.
func (c *conn) followerRequest(req *Request, f *trtc.Follower) (any, *trtc.Error) {
	switch req.Type {
	case "heartbeat":
		return nil, nil
	case "members":
		return c.srv.Gate.Rooms.Followed(f), nil
	case "mute":
		// The follower's own member (its RTMP pusher) mutes: webrtc-room's
		// muted property, TAvKit's mute button.
		rooms := c.srv.Gate.Rooms
		m := rooms.Current(f.App, f.UserID)
		if m == nil || m.Room.Key != f.RoomKey {
			return nil, trtc.Errorf(trtc.CodeUserLeft, "%s is not in the room it follows (its push has not started)", f.UserID)
		}
		return nil, c.mute(req, m)
	}
	return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%s while following a room: join it first", req.Type)
}

// quit stops following, or leaves the room as leave does.
func (c *conn) quit() (any, *trtc.Error) {
	c.mu.Lock()
	following, m := c.follower != nil, c.member
	c.mu.Unlock()
	switch {
	case following:
		c.unfollow()
	case m != nil:
		c.leave("leave")
	default:
		return nil, trtc.Errorf(trtc.CodeUserLeft, "neither in a room nor following one")
	}
	return nil, nil
}

// unfollow ends the follow, if any.
func (c *conn) unfollow() {
	c.mu.Lock()
	f := c.follower
	c.follower, c.followedClass = nil, nil
	c.mu.Unlock()
	if f != nil {
		c.srv.Gate.Rooms.Unfollow(f)
	}
}
