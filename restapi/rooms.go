package restapi

import (
	"context"

	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// enter makes a user a member on the application server's word: the gate
// enters the user on behalf of the admin, with every privilege. The user
// must then keep it alive with heartbeat.
func (s *Server) enter(ctx context.Context, c caller, req restRequest) (map[string]any, *trtc.Error) {
	room, e := req.room()
	if e != nil {
		return nil, e
	}
	if req.UserID == "" {
		return nil, trtc.Errorf(trtc.RestInvalidParam, "userId is required")
	}
	creds := c.Credentials
	creds.Room = room
	a, e := s.Gate.Admit(ctx, trtc.Request{Credentials: creds, Intent: trtc.Enter, OnBehalfOf: req.UserID,
		Template: req.Template, Peer: restPeer{}, Heartbeats: true})
	if e != nil {
		return nil, trtc.Errorf(trtc.RestEnterFailed, "%s", e.Message)
	}
	return map[string]any{"roomUUID": a.Member.Room.UUID, "members": a.Others}, nil
}

// memberOp is exit_room, heartbeat and kick_user: they name a user and the
// room the caller believes the user is in.
func (s *Server) memberOp(app trtc.App, op string, req restRequest) (map[string]any, *trtc.Error) {
	room, e := req.room()
	if e != nil {
		return nil, e
	}
	rooms, key := s.Gate.Rooms, trtc.RoomKey(app.SDKAppID, room)
	m := rooms.Current(app.SDKAppID, req.UserID)
	if m == nil && op == "kick_user" && rooms.KickRemote(app.SDKAppID, req.UserID, key) {
		return nil, nil // a member on another node: that node removes it
	}
	if m == nil {
		return nil, trtc.Errorf(trtc.RestUserLeft, "user %q is in no room", req.UserID)
	}
	if m.Room.Key != key {
		return nil, trtc.Errorf(trtc.RestRoomMismatch, "user %q is in room %s, not %s", req.UserID, m.Room.ID, room)
	}
	switch op {
	case "exit_room":
		rooms.Leave(m, "leave")
	case "heartbeat":
		rooms.Heartbeat(m)
	case "kick_user":
		rooms.Kick(m, trtc.Errorf(trtc.CodeKicked, "removed by the application server"))
	}
	return nil, nil
}

// find is the live room a request names by roomUUID, or else by its id.
func (s *Server) find(app trtc.App, req restRequest) (*trtc.Room, *trtc.Error) {
	var id tlssig.Room
	if req.RoomUUID == "" {
		var e *trtc.Error
		if id, e = req.room(); e != nil {
			return nil, e
		}
	}
	room := s.Gate.Rooms.Find(app.SDKAppID, req.RoomUUID, id)
	if room == nil {
		if req.RoomUUID != "" {
			return nil, trtc.Errorf(trtc.RestNoSuchRoom, "no live room with UUID %q", req.RoomUUID)
		}
		return nil, trtc.Errorf(trtc.RestRoomClosed, "room %s is not live", id)
	}
	return room, nil
}

func (s *Server) members(app trtc.App, req restRequest) (map[string]any, *trtc.Error) {
	room, e := s.find(app, req)
	if e != nil {
		return nil, e
	}
	return map[string]any{"roomUUID": room.UUID, "members": s.Gate.Rooms.RoomMembers(room)}, nil
}

// locate says which node a room's next member should use: the one that
// has the room, or the least-loaded (clusters; a single node answers
// itself, with cluster false).
func (s *Server) locate(ctx context.Context, app trtc.App, req restRequest) (map[string]any, *trtc.Error) {
	room, e := req.room()
	if e != nil {
		return nil, e
	}
	p, ok, e := s.Gate.Rooms.Place(ctx, trtc.RoomKey(app.SDKAppID, room))
	if e != nil {
		return nil, e
	}
	return map[string]any{"cluster": ok, "node": p.Node, "http": p.HTTP, "https": p.HTTPS}, nil
}

func (s *Server) close(app trtc.App, req restRequest) (map[string]any, *trtc.Error) {
	rooms := s.Gate.Rooms
	room, e := s.find(app, req)
	if e != nil {
		// Only other nodes may have members: they close it.
		if id, ie := req.room(); ie == nil && req.RoomUUID == "" && rooms.CloseRemote(trtc.RoomKey(app.SDKAppID, id)) {
			return nil, nil
		}
		return nil, e
	}
	rooms.CloseRemote(room.Key)
	rooms.CloseRoom(room)
	return nil, nil
}

// restPeer is a member entered by the application server over the REST
// API: it has no channel of its own and lives by REST heartbeats.
type restPeer struct{}

func (restPeer) Notify(trtc.Event) {}
func (restPeer) Kick(*trtc.Error)  {}
