package websdk

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// joinData is what the SDK's join frame says; sdkAppId, userId and userSig
// come in the socket's URL instead.
type joinData struct {
	RoomID          string `json:"roomId"` // text even for numeric rooms
	UseStringRoomID bool   `json:"useStringRoomId"`
	PrivateMapKey   string `json:"privateMapKey"`
	Role            int    `json:"trtcRole"`
}

// room turns the join's room id into a trtcd room: numeric and string ids
// are separate namespaces, as everywhere in TRTC.
func (d joinData) room() (tlssig.Room, *trtc.Error) {
	if !d.UseStringRoomID {
		return trtc.ParseRoom(d.RoomID, "")
	}
	if d.RoomID == "" {
		return tlssig.Room{}, trtc.Errorf(trtc.CodeMissingRoomID, "a string roomId has 1 to 64 characters")
	}
	return trtc.ParseRoom("", d.RoomID)
}

// join authenticates and enters the room. The reply (20) always has data:
// the SDK reads it even when the code says the join failed.
func (c *conn) join(req *Request) {
	r := Reply{Cmd: cmdJoinResult, Seq: req.Seq}
	pubs, e := c.enter(req)
	if e != nil {
		r.Code, r.Message = int(e.Code), e.Message
		c.h.refusedLog.log(c.log, slog.LevelInfo, "join refused", "code", e.Code, "message", e.Message)
	} else {
		r.Data = map[string]any{"publishers": pubs}
	}
	c.send(r)
}

func (c *conn) enter(req *Request) ([]publisher, *trtc.Error) {
	if c.current() != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "already in a room; leave first")
	}
	var d joinData
	if err := req.decodeData(&d); err != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
	}
	room, e := d.room()
	if e != nil {
		return nil, e
	}
	c.openEvents() // before entering: the room's events may come at once
	a, e := c.h.Gate.Admit(context.Background(), trtc.Request{Intent: trtc.Enter, Peer: c, Heartbeats: true,
		Credentials: trtc.Credentials{SDKAppID: c.app, UserID: c.userID, UserSig: c.userSig, PrivateMapKey: d.PrivateMapKey, Room: room}})
	if e != nil {
		c.dropEvents()
		return nil, e
	}
	m, others, g := a.Member, a.Others, a.Grant
	c.mu.Lock()
	closed := c.isClosed()
	if !closed {
		c.member, c.grant, c.roomClosed = m, g, false
		c.sessions.Open(m.Room.Capacity)
	}
	c.mu.Unlock()
	if closed { // the socket went while entering
		c.h.Gate.Rooms.Leave(m, "disconnect")
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "the connection closed")
	}
	c.logIn() // only now: a join the room refuses keeps the login deadline and the small budget
	c.log.Info("joined", "room", m.Room.Key, "members", len(others)+1)
	return publishers(others, g.Privilege.CanRecvSubVideo(), c.appKey), nil
}

func (c *conn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *conn) leaveCmd(*Request, *trtc.Member) (any, *trtc.Error) {
	c.leave("leave")
	return nil, nil
}

// leave ends the membership and closes every media session; the socket
// stays (the SDK closes it).
func (c *conn) leave(reason string) {
	m, closeMedia := c.detach()
	closeMedia()
	if m != nil {
		c.h.Gate.Rooms.Leave(m, reason)
	}
}

// detach forgets the membership at once, so no later command acts for it,
// and returns what closes its media.
func (c *conn) detach() (*trtc.Member, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.member
	c.member, c.grant = nil, nil
	return m, c.sessions.Take()
}

func (c *conn) userList(_ *Request, m *trtc.Member) (any, *trtc.Error) {
	return map[string]any{"userList": users(c.h.Gate.Rooms.Members(m), c.appKey)}, nil
}

// muteData is mute_uplink: true means muted, for the main stream.
type muteData struct {
	Audio    bool `json:"audio"`
	BigVideo bool `json:"bigVideo"`
}

func (c *conn) mute(req *Request, m *trtc.Member) (any, *trtc.Error) {
	var d muteData
	if err := req.decodeData(&d); err != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
	}
	c.h.Gate.Rooms.Mute(m, d.Audio, d.BigVideo) // the others get a new 23
	return nil, nil
}

// Notify implements trtc.Peer. The registry calls it under its lock,
// so it only queues the event; the event loop makes the frames.
func (c *conn) Notify(ev trtc.Event) {
	c.mu.Lock()
	events := c.events
	if ev.Name == trtc.EventRoomClosed { // the kick that follows must know at once
		c.roomClosed = true
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	select {
	case events <- ev:
	default: // a stuck client; the periodic 23 and user-list polls heal what is lost
	}
}

// Kick implements trtc.Peer: the registry has already removed the
// member. The SDK is told why with cmd 9, then the socket closes.
func (c *conn) Kick(e *trtc.Error) {
	c.spawn(func() {
		m, closeMedia := c.detach()
		reason := c.banReason(m, e)
		closeMedia() // the registry removed the member already
		c.send(Reply{Cmd: cmdClientBanned, Message: e.Message, Data: map[string]string{"reason": reason}})
		c.log.Info("removed", "reason", reason, "code", e.Code)
		if reason != "user_time_out" {
			c.closeAfterFlush(websocket.CloseNormalClosure, "")
		}
	})
}

// banReason says why a member was removed in the SDK's words: "kick" (the
// same user signed in elsewhere), "room_disband", "user_time_out" (the SDK
// then joins again by itself) or "banned" (removed by the application).
func (c *conn) banReason(m *trtc.Member, e *trtc.Error) string {
	c.mu.Lock()
	closed := c.roomClosed
	c.mu.Unlock()
	switch {
	case closed:
		return "room_disband"
	case e.Code == trtc.CodeHeartbeatTimeout:
		return "user_time_out"
	case m != nil:
		if cur := c.h.Gate.Rooms.Current(m.App, m.UserID); cur != nil && cur != m {
			return "kick"
		}
	}
	return "banned"
}

// eventLoop turns room events into SDK frames, and pushes the publisher
// list periodically.
func (c *conn) eventLoop(events <-chan trtc.Event) {
	tick := time.NewTicker(publishersInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
			c.pushPublishers()
		case ev := <-events:
			c.event(ev)
		}
	}
}

// memberEvent is the data of member-join and member-quit.
type memberEvent struct {
	UserID string `json:"userId"`
	Reason string `json:"reason"`
}

func (c *conn) event(ev trtc.Event) {
	switch ev.Name {
	case trtc.EventMemberJoin:
		if u, ok := decodeMember(ev.Data); ok {
			c.send(Reply{Cmd: cmdPeerJoin, Data: user{UserID: u.UserID, SrcTinyID: TinyID(c.appKey, u.UserID), Role: roleAnchor}})
		}
	case trtc.EventMemberQuit:
		if u, ok := decodeMember(ev.Data); ok {
			c.send(Reply{Cmd: cmdPeerLeave, Data: map[string]any{"userId": u.UserID, "srcTinyId": TinyID(c.appKey, u.UserID), "reason": leaveReason(u.Reason)}})
			c.pushPublishers()
		}
	case trtc.EventStreamAdd, trtc.EventStreamRemove, trtc.EventMute:
		c.pushPublishers()
	}
}

// decodeMember reads a member event's data (a room core type of its own,
// read through its JSON form).
func decodeMember(data any) (memberEvent, bool) {
	var u memberEvent
	b, err := json.Marshal(data)
	if err != nil || json.Unmarshal(b, &u) != nil || u.UserID == "" {
		return u, false
	}
	return u, true
}

// pushPublishers sends the complete list of publishers (23).
func (c *conn) pushPublishers() {
	m := c.current()
	if m == nil {
		return
	}
	g := c.currentGrant()
	screens := g != nil && g.Privilege.CanRecvSubVideo()
	c.send(Reply{Cmd: cmdPublishers, Data: map[string]any{"userList": publishers(c.h.Gate.Rooms.Members(m), screens, c.appKey)}})
}
