package trtc

import (
	"time"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

// RoomSummary describes a live room for the REST API.
type RoomSummary struct {
	UUID      string `json:"roomUUID"`
	RoomID    uint32 `json:"roomId,omitempty"`
	StrRoomID string `json:"strRoomId,omitempty"`
	Template  string `json:"template"`
	Capacity  int    `json:"capacity"`
	Members   int    `json:"memberCount"`
	Created   int64  `json:"createTime"`
}

func (room *Room) summary() RoomSummary {
	return RoomSummary{UUID: room.UUID, RoomID: room.ID.ID, StrRoomID: room.ID.Str, Template: room.Template,
		Capacity: room.Capacity, Members: len(room.members), Created: room.Created.Unix()}
}

// List returns the live rooms of an app.
func (r *Registry) List(app uint32) []RoomSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []RoomSummary{}
	for _, room := range r.rooms {
		if room.App == app {
			out = append(out, room.summary())
		}
	}
	return out
}

// Find returns a live room of an app by UUID or id (nil when none).
func (r *Registry) Find(app uint32, uuid string, id tlssig.Room) *Room {
	r.mu.Lock()
	defer r.mu.Unlock()
	if uuid == "" {
		if room := r.rooms[RoomKey(app, id)]; room != nil {
			return room
		}
		return nil
	}
	for _, room := range r.rooms {
		if room.App == app && room.UUID == uuid {
			return room
		}
	}
	return nil
}

// RoomMembers lists a live room's members.
func (r *Registry) RoomMembers(room *Room) []MemberInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]MemberInfo, 0, len(room.members))
	for _, m := range room.members {
		out = append(out, m.info)
	}
	return out
}

// Current returns the member a user of an app is now (nil when none).
func (r *Registry) Current(app uint32, userID string) *Member {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.users[userKey{app, userID}]
}

// Kick removes a member: the client is told why and disconnected.
func (r *Registry) Kick(m *Member, e *Error) {
	r.Leave(m, "kicked")
	m.peer.Kick(e)
}

// CloseRoom closes a room on the application server's word: members get
// room-closed, leave it, and their connections end (closed, 14003).
func (r *Registry) CloseRoom(room *Room) { r.endRoom(room, false) }

// EndRoom closes a room whose class ended: members get room-closed and
// leave it; those that can stay connected do (no kick).
func (r *Registry) EndRoom(room *Room) { r.endRoom(room, true) }

func (r *Registry) endRoom(room *Room, stay bool) {
	closed := Event{Name: EventRoomClosed, Data: map[string]string{"roomUUID": room.UUID}}
	r.mu.Lock()
	members := make([]*Member, 0, len(room.members))
	for _, m := range room.members {
		members = append(members, m)
	}
	// Followers are told and go on following: the room may come back
	// (a mini program's pusher retries its push).
	r.tellFollowers(room.Key, "", closed)
	r.mu.Unlock()
	for _, m := range members {
		m.peer.Notify(closed)
		if l, ok := m.peer.(RoomLeaver); ok && stay {
			l.LeaveRoom("room-closed")
			continue
		}
		r.Leave(m, "room-closed")
		m.peer.Kick(Errorf(CodeRoomClosed, "room %s was closed", room.ID))
	}
}

// heartbeatAge is how long ago a member was last heard from.
func (m *Member) heartbeatAge() time.Duration {
	return time.Since(time.Unix(0, m.lastSeen.Load()))
}
