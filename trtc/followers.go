package trtc

import "github.com/trtcd/trtcd/trtc/tlssig"

// A follower hears a room's events without being a member. A mini
// program's member is its RTMP pusher; the webrtc-room component also
// needs the member list and the events over /ws, for the same userId. A
// second member with that userId would take over and force the pusher
// offline, so the component's connection follows the room instead: it gets
// what members get, except news about its own userId (its pusher), and it
// counts toward no capacity and sends no heartbeats. A followed room need
// not exist: it does once the pusher enters.

// Follower is a client following a room (Gate.Admit with Follow).
type Follower struct {
	App     uint32
	UserID  string
	RoomKey string
	peer    Peer
	release func() // its viewer slot (the gate's); nil in tests that follow directly
}

// follow adds a follower of a room. It returns the follower, the room's
// members (here and on other nodes) other than user, and the room's UUID
// ("" while nobody is in it).
func (r *Registry) follow(app uint32, user string, room tlssig.Room, peer Peer) (*Follower, []MemberInfo, string) {
	f := &Follower{App: app, UserID: user, RoomKey: RoomKey(app, room), peer: peer}
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.followers[f.RoomKey]
	if set == nil {
		set = map[*Follower]struct{}{}
		r.followers[f.RoomKey] = set
	}
	set[f] = struct{}{}
	return f, r.othersOf(f.RoomKey, user), r.uuidOf(f.RoomKey)
}

// Unfollow stops a follower's events; calling it again is harmless.
func (r *Registry) Unfollow(f *Follower) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unfollowLocked(f)
}

func (r *Registry) unfollowLocked(f *Follower) {
	if f.release != nil {
		f.release() // takes viewersMu, never held while taking mu
	}
	set := r.followers[f.RoomKey]
	delete(set, f)
	if len(set) == 0 {
		delete(r.followers, f.RoomKey)
	}
}

// Followers is how many clients follow a room.
func (r *Registry) Followers(roomKey string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.followers[roomKey])
}

// Followed lists the members a follower sees now: everyone in the room,
// here and on other nodes, but the follower's own userId.
func (r *Registry) Followed(f *Follower) []MemberInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.othersOf(f.RoomKey, f.UserID)
}

// othersOf lists a room's members here and on other nodes but user (never
// nil: it becomes a JSON array). Callers hold mu.
func (r *Registry) othersOf(key, user string) []MemberInfo {
	out := []MemberInfo{}
	for u, m := range r.remote[key] {
		if u != user {
			out = append(out, m.info)
		}
	}
	if room := r.rooms[key]; room != nil {
		for u, m := range room.members {
			if u != user {
				out = append(out, m.info)
			}
		}
	}
	return out
}

// uuidOf is a room's UUID, here or as another node has it ("" when no
// node has members). Callers hold mu.
func (r *Registry) uuidOf(key string) string {
	if room := r.rooms[key]; room != nil {
		return room.UUID
	}
	for _, m := range r.remote[key] {
		if m.roomUUID != "" {
			return m.roomUUID
		}
	}
	return ""
}

// tellFollowers sends ev to a room's followers, but to none whose userId
// is about: a follower hears nothing about itself. Callers hold mu.
func (r *Registry) tellFollowers(key, about string, ev Event) {
	for f := range r.followers[key] {
		if f.UserID != about {
			f.peer.Notify(ev)
		}
	}
}

// notifyAll sends ev, about user about ("" for none), to a room's members
// here (all of them) and its followers (but about). Callers hold mu.
func (r *Registry) notifyAll(key, about string, ev Event) {
	for _, p := range r.audience(key, about) {
		p.Notify(ev)
	}
}

// audience is who notifyAll(key, about, …) tells. Callers hold mu.
func (r *Registry) audience(key, about string) []Peer {
	var peers []Peer
	if room := r.rooms[key]; room != nil {
		for _, m := range room.members {
			peers = append(peers, m.peer)
		}
	}
	for f := range r.followers[key] {
		if f.UserID != about {
			peers = append(peers, f.peer)
		}
	}
	return peers
}
