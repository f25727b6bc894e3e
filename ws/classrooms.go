package ws

import (
	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// The classroom requests of the WebSocket protocol (docs/classroom.md):
// login, then create, join, quit and destroy classes, send messages and
// read a class's history.

// loginState is who a connection signed in as.
type loginState struct {
	app     uint32
	user    string
	userSig string // kept to check privateMapKeys for classes later
}

// LoginData signs a connection in without entering a room.
type LoginData struct {
	SDKAppID uint32 `json:"sdkAppId"`
	UserID   string `json:"userId"`
	UserSig  string `json:"userSig"`
}

// ClassData names a class and carries what joining it needs.
type ClassData struct {
	ClassID       uint32 `json:"classId"`
	StrClassID    string `json:"strClassId"`
	PrivateMapKey string `json:"privateMapKey"`
	Template      string `json:"template"`
	// Follow: follow the class's room instead of entering it (a mini
	// program whose member is its RTMP pusher, with the same userId).
	Follow     bool       `json:"follow"`
	Role       string     `json:"role"`
	RecordID   flexString `json:"recordId"`
	MinBitrate int        `json:"minBitrate"`
	MaxBitrate int        `json:"maxBitrate"`
}

// HistoryData asks for a class's messages after a sequence number.
type HistoryData struct {
	AfterSeq uint64 `json:"afterSeq"`
	Limit    int    `json:"limit"`
}

func (c *conn) signIn(req *Request) (any, *trtc.Error) {
	var d LoginData
	if e := decodeData(req, &d); e != nil {
		return nil, e
	}
	c.mu.Lock()
	m := c.member
	c.mu.Unlock()
	if m != nil && (m.App != d.SDKAppID || m.UserID != d.UserID) {
		// The room's member and the signed-in user would differ: messages
		// sent as one from the other's seat.
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "in a room as %s; quit it before logging in as %s", m.UserID, d.UserID)
	}
	if _, e := c.srv.Gate.Admit(c.ctx, trtc.Request{Intent: trtc.SignIn,
		Credentials: trtc.Credentials{SDKAppID: d.SDKAppID, UserID: d.UserID, UserSig: d.UserSig}}); e != nil {
		return nil, e
	}
	c.signInAs(d.SDKAppID, d.UserID, d.UserSig)
	return map[string]string{"userId": d.UserID}, nil
}

// signInAs records the login and makes this connection the user's message
// endpoint; one signed in before as the same user is forced offline. A
// login as someone else re-logs in, as TIC's login on a logged-in instance
// does: the user signed in before on this connection is signed out, so its
// messages stop coming here (20003 to senders) and it may sign in
// elsewhere without this connection being forced offline.
func (c *conn) signInAs(app uint32, user, userSig string) {
	c.mu.Lock()
	prev := c.login
	c.login = &loginState{app: app, user: user, userSig: userSig}
	c.mu.Unlock()
	cs := c.srv.Classrooms
	if cs == nil {
		return
	}
	if prev != nil && (prev.app != app || prev.user != user) {
		cs.SignOut(prev.app, prev.user, c)
	}
	if old := cs.SignIn(app, user, c); old != nil {
		old.Kick(trtc.Errorf(trtc.CodeForceOffline, "user %s signed in again elsewhere", user))
	}
	select {
	case <-c.done:
		// Closed meanwhile: its teardown may have signed out before
		// SignIn took this connection, which would then stay the user's.
		cs.SignOut(app, user, c)
	default:
	}
}

// LeaveRoom implements trtc.RoomLeaver: the room ended (its class was
// destroyed) and the connection stays, signed in.
func (c *conn) LeaveRoom(reason string) { c.leave(reason) }

func (c *conn) signOut() {
	c.mu.Lock()
	l := c.login
	c.mu.Unlock()
	if l != nil && c.srv.Classrooms != nil {
		c.srv.Classrooms.SignOut(l.app, l.user, c)
	}
}

// classroomRequest handles the classroom requests; ok is false for others.
func (c *conn) classroomRequest(req *Request) (data any, e *trtc.Error, ok bool) {
	switch req.Type {
	case "createClassroom", "joinClassroom", "destroyClassroom", "sendMessage", "history", "quitClassroom":
	default:
		return nil, nil, false
	}
	cs := c.srv.Classrooms
	c.mu.Lock()
	l, m, f, fc := c.login, c.member, c.follower, c.followedClass
	c.mu.Unlock()
	if m == nil && f != nil && fc != nil && (req.Type == "sendMessage" || req.Type == "history") {
		// A class follower speaks as its member (the pusher) when there is
		// one, else from the class's room.
		if cur := c.srv.Gate.Rooms.Current(f.App, f.UserID); cur != nil && cur.Room.Key == f.RoomKey {
			m = cur
		} else {
			m = &trtc.Member{App: f.App, UserID: f.UserID, Room: &trtc.Room{Key: f.RoomKey, ID: *fc}}
		}
	}
	if cs == nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "classrooms are not enabled on this server"), true
	}
	if l == nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%s before login", req.Type), true
	}
	if m != nil {
		c.srv.Gate.Rooms.Heartbeat(m)
	}
	switch req.Type {
	case "sendMessage":
		var d classroom.SendRequest
		if e := decodeData(req, &d); e != nil {
			return nil, e, true
		}
		msg, e := cs.Send(l.app, l.user, m, d)
		return map[string]any{"seq": msg.Seq, "time": msg.Time, "clientMsgId": msg.ClientMsgID}, e, true
	case "history":
		var d HistoryData
		if e := decodeData(req, &d); e != nil {
			return nil, e, true
		}
		if m == nil {
			return nil, trtc.Errorf(trtc.CodeIMNoPermission, "join a classroom to read its history"), true
		}
		data, e := cs.History(&c.history, l.app, m.Room.ID, d.AfterSeq, d.Limit)
		return data, e, true
	case "quitClassroom":
		if f != nil {
			c.unfollow()
			return nil, nil, true
		}
		c.leave("leave")
		return nil, nil, true
	}
	var d ClassData
	if e := decodeData(req, &d); e != nil {
		return nil, e, true
	}
	id, e := trtc.ParseRoom(formatRoomID(d.ClassID), d.StrClassID)
	if e != nil {
		return nil, e, true
	}
	switch req.Type {
	case "createClassroom":
		return c.createClassroom(l, id, d.PrivateMapKey)
	case "destroyClassroom":
		app, _ := c.srv.Gate.Apps.Lookup(l.app)
		return nil, cs.Destroy(app, id, l.user), true
	}
	return c.joinClassroom(l, id, d, m)
}

func (c *conn) createClassroom(l *loginState, id tlssig.Room, pmk string) (any, *trtc.Error, bool) {
	a, e := c.srv.Gate.Admit(c.ctx, trtc.Request{Intent: trtc.Create,
		Credentials: trtc.Credentials{SDKAppID: l.app, UserID: l.user, UserSig: l.userSig, PrivateMapKey: pmk, Room: id}})
	if e != nil {
		return nil, e, true
	}
	create := c.srv.Classrooms.CreateAsUser
	if a.Grant.App.IsAdmin(l.user) {
		create = c.srv.Classrooms.Create // an admin identifier speaks for the application
	}
	if e := create(l.app, id, l.user); e != nil {
		return nil, e, true
	}
	return classroom.Ref(id), nil, true
}

func (c *conn) joinClassroom(l *loginState, id tlssig.Room, d ClassData, m *trtc.Member) (any, *trtc.Error, bool) {
	if d.Follow {
		return c.followClassroom(l, id, d, m)
	}
	if m != nil {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "already in a room; quit first"), true
	}
	creator, lastSeq, e := c.srv.Classrooms.Info(l.app, id)
	if e != nil {
		return nil, e, true
	}
	j, e := c.enter(JoinData{SDKAppID: l.app, UserID: l.user, UserSig: l.userSig, RoomID: id.ID, StrRoomID: id.Str,
		PrivateMapKey: d.PrivateMapKey, Role: d.Role, Template: d.Template, RecordID: d.RecordID,
		MinBitrate: d.MinBitrate, MaxBitrate: d.MaxBitrate})
	if e != nil {
		return nil, e, true
	}
	return map[string]any{"classId": id.ID, "strClassId": id.Str, "creator": creator, "lastSeq": lastSeq,
		"members": j.Members, "roomUUID": j.RoomUUID, "template": j.Template, "capacity": j.Capacity,
		"minBitrate": j.MinBitrate, "maxBitrate": j.MaxBitrate}, nil, true
}

func (c *conn) followClassroom(l *loginState, id tlssig.Room, d ClassData, m *trtc.Member) (any, *trtc.Error, bool) {
	c.mu.Lock()
	busy := m != nil || c.follower != nil
	c.mu.Unlock()
	if busy {
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "already in a room or following one; quit first"), true
	}
	creator, lastSeq, e := c.srv.Classrooms.Info(l.app, id)
	if e != nil {
		return nil, e, true
	}
	a, e := c.srv.Gate.Admit(c.ctx, trtc.Request{Intent: trtc.Follow, Peer: c,
		Credentials: trtc.Credentials{SDKAppID: l.app, UserID: l.user, UserSig: l.userSig, PrivateMapKey: d.PrivateMapKey, Room: id}})
	if e != nil {
		return nil, e, true
	}
	c.mu.Lock()
	c.follower, c.followedClass = a.Follower, &id
	c.mu.Unlock()
	return map[string]any{"classId": id.ID, "strClassId": id.Str, "creator": creator, "lastSeq": lastSeq,
		"members": a.Others, "roomUUID": a.RoomUUID, "following": true}, nil, true
}
