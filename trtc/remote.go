package trtc

import (
	"context"
	"time"

	"github.com/trtcd/trtcd/internal/panics"
)

// A room may span several trtcd nodes (package cluster). Each node's
// registry holds its own members and a view of the others' ("remote")
// members, kept by RemoteEvents: every change to a local member is sent to
// the other nodes, in order, and every node also sends its whole roster
// now and then, so a node that missed events (a Redis outage, a late
// start) catches up, and the members of a node that stops sending (killed)
// leave everyone's rooms once.

// RemoteEvent is one node's news for the others.
type RemoteEvent struct {
	Node string `json:"node"` // the sender
	Kind string `json:"kind"` // one of the Remote* kinds
	// Room, App and User name the member (not for rosters).
	Room string `json:"room,omitempty"`
	App  uint32 `json:"app,omitempty"`
	User string `json:"user,omitempty"`
	// Info is the member's state (join, streams, mute).
	Info MemberInfo `json:"info"`
	// Since is when the member entered (unix nanoseconds): of two sessions
	// of one user, the later one stays.
	Since  int64  `json:"since,omitempty"`
	Reason string `json:"reason,omitempty"` // quit
	// RoomUUID is the room's on the sending node: a node that creates the
	// room later takes it, so a room has one UUID cluster-wide.
	RoomUUID string `json:"roomUuid,omitempty"`
	// Record is what the member records with (join, streams, rosters).
	Record *RecordParams `json:"record,omitempty"`
	Target string        `json:"target,omitempty"` // kick: the node that has the user
	// Members is a roster: everyone on the sending node.
	Members []RemoteEvent `json:"members,omitempty"`
}

// The kinds of RemoteEvent.
const (
	RemoteJoin   = "join"
	RemoteQuit   = "quit"
	RemoteStream = "stream" // Info says what the member publishes now
	RemoteMute   = "mute"
	RemoteRoster = "roster"
	RemoteKick   = "kick"  // the application server removes User (on node Target)
	RemoteClose  = "close" // the application server closes Room everywhere
)

// remoteMember is a member on another node.
type remoteMember struct {
	node     string
	app      uint32
	since    int64
	info     MemberInfo
	roomUUID string
	recordID string // what it records with, if anything
}

// tell sends a local member's change to the other nodes. Callers hold mu.
func (r *Registry) tell(kind string, m *Member, reason string) {
	if r.send == nil {
		return
	}
	r.send(RemoteEvent{Node: r.node, Kind: kind, Room: m.Room.Key, App: m.App, User: m.UserID, Info: m.info,
		Since: m.since, Reason: reason, RoomUUID: m.Room.UUID, Record: m.recordParams()})
}

// recordParams are the member's recording wishes, if any.
func (m *Member) recordParams() *RecordParams {
	if m.Record.RecordID == "" {
		return nil
	}
	p := m.Record
	return &p
}

// SendRoster sends every local member to the other nodes, in order with
// the events.
func (r *Registry) SendRoster() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.send != nil {
		r.send(r.rosterLocked())
	}
}

// Roster is every local member, for the other nodes.
func (r *Registry) Roster() RemoteEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rosterLocked()
}

func (r *Registry) rosterLocked() RemoteEvent {
	ev := RemoteEvent{Node: r.node, Kind: RemoteRoster}
	for _, room := range r.rooms {
		for _, m := range room.members {
			ev.Members = append(ev.Members, RemoteEvent{Room: room.Key, App: m.App, User: m.UserID, Info: m.info, Since: m.since,
				RoomUUID: room.UUID, Record: m.recordParams()})
		}
	}
	return ev
}

// ApplyRemote takes another node's event. The cluster's bus calls it, one
// message after another on one goroutine, for every node: a panic while
// applying one (a bug that the event reaches) is counted and that event
// dropped, and the bus goes on with the next (a later roster repairs what
// was missed). So the registry's lock is only ever held with a deferred
// unlock below: a recovered panic must not leave every room hung.
func (r *Registry) ApplyRemote(ev RemoteEvent) {
	defer panics.Recover(panics.Cluster, nil)
	kicked, then, ok := r.applyRemoteLocked(ev)
	if !ok {
		return
	}
	if ev.Kind == RemoteStream || ev.Kind == RemoteRoster || ev.Kind == RemoteJoin {
		r.recordRemote(ev)
	}
	for _, m := range kicked {
		m.peer.Kick(Errorf(CodeForceOffline, "user %s signed in again elsewhere", m.UserID))
		r.left(m, "replaced")
	}
	if then != nil {
		then()
	}
}

// applyRemoteLocked changes the registry's view of the other nodes. What
// takes the lock itself or talks to peers at length (kicking local members,
// ending a room) is returned to be done after: kicked, then. ok is false
// for an event that is not for this registry.
func (r *Registry) applyRemoteLocked(ev RemoteEvent) (kicked []*Member, then func(), ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.remote == nil || ev.Node == r.node || ev.Node == "" {
		return nil, nil, false
	}
	r.heard[ev.Node] = time.Now()
	switch ev.Kind {
	case RemoteJoin, RemoteStream, RemoteMute:
		kicked = r.remoteUpsert(ev)
	case RemoteQuit:
		r.remoteQuit(ev.Node, ev.Room, ev.User, ev.Reason)
	case RemoteRoster:
		kicked = r.remoteRoster(ev)
	case RemoteKick:
		if m := r.users[userKey{ev.App, ev.User}]; m != nil && ev.Target == r.node && m.Room.Key == ev.Room {
			then = func() { r.Kick(m, Errorf(CodeKicked, "removed by the application server")) }
		}
	case RemoteClose:
		if room := r.rooms[ev.Room]; room != nil {
			then = func() { r.endRoom(room, false) }
		}
	}
	return kicked, then, true
}

// remoteUpsert adds or updates a remote member and tells the local
// members what changed. A local session of the same user that is older
// is replaced (returned, to be kicked outside the lock).
func (r *Registry) remoteUpsert(ev RemoteEvent) (kicked []*Member) {
	if old := r.users[userKey{ev.App, ev.User}]; old != nil && old.since < ev.Since {
		r.removeLocked(old, "replaced")
		kicked = append(kicked, old)
	}
	members := r.remote[ev.Room]
	if members == nil {
		members = map[string]*remoteMember{}
		r.remote[ev.Room] = members
	}
	was := members[ev.User]
	if was != nil && was.node != ev.Node {
		if was.since > ev.Since {
			return kicked // a newer session of the user is already known elsewhere
		}
		r.notifyAll(ev.Room, ev.User, Event{Name: EventMemberQuit, Data: memberEvent{UserID: ev.User, UserIDs: []string{ev.User}, Reason: "replaced"}})
	}
	members[ev.User] = &remoteMember{node: ev.Node, app: ev.App, since: ev.Since, info: ev.Info, roomUUID: ev.RoomUUID}
	if ev.Record != nil {
		members[ev.User].recordID = ev.Record.RecordID
	}
	if was == nil || was.node != ev.Node {
		r.notifyAll(ev.Room, ev.User, Event{Name: EventMemberJoin, Data: memberEvent{UserID: ev.User, UserIDs: []string{ev.User}}})
		was = &remoteMember{}
	}
	r.notifyChanges(ev.Room, ev.User, was.info, ev.Info)
	return kicked
}

// remoteQuit removes a remote member if node still has it.
func (r *Registry) remoteQuit(node, roomKey, user, reason string) {
	members := r.remote[roomKey]
	if members[user] == nil || members[user].node != node {
		return
	}
	delete(members, user)
	if len(members) == 0 {
		delete(r.remote, roomKey)
	}
	r.notifyAll(roomKey, user, Event{Name: EventMemberQuit, Data: memberEvent{UserID: user, UserIDs: []string{user}, Reason: reason}})
}

// remoteRoster makes node's members exactly the roster's.
func (r *Registry) remoteRoster(ev RemoteEvent) (kicked []*Member) {
	listed := map[[2]string]bool{}
	for _, m := range ev.Members {
		m.Node, m.Kind = ev.Node, RemoteJoin
		listed[[2]string{m.Room, m.User}] = true
		if cur := r.remote[m.Room][m.User]; cur == nil || cur.node != m.Node || cur.info != m.Info {
			kicked = append(kicked, r.remoteUpsert(m)...)
		}
	}
	r.dropNode(ev.Node, "disconnect", func(room, user string) bool { return !listed[[2]string{room, user}] })
	return kicked
}

// dropNode removes node's remote members for which drop says so.
func (r *Registry) dropNode(node, reason string, drop func(room, user string) bool) {
	for roomKey, members := range r.remote {
		for user, m := range members {
			if m.node == node && drop(roomKey, user) {
				r.remoteQuit(node, roomKey, user, reason)
			}
		}
	}
}

// ExpireNodes removes the members of nodes not heard from since silentSince
// (a node killed, or cut off): the local members get member-quit, once.
func (r *Registry) ExpireNodes(silentSince time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for node, at := range r.heard {
		if at.Before(silentSince) {
			delete(r.heard, node)
			r.dropNode(node, "disconnect", func(string, string) bool { return true })
		}
	}
}

// roomUUID is the UUID for a room created here now: the one other nodes
// already use for it, else a new one. Callers hold mu.
func (r *Registry) roomUUID(key string) string {
	for _, m := range r.remote[key] {
		if m.roomUUID != "" {
			return m.roomUUID
		}
	}
	return newUUID()
}

// remoteInfos lists a room's remote members. Callers hold mu.
func (r *Registry) remoteInfos(roomKey string) []MemberInfo {
	var out []MemberInfo
	for _, m := range r.remote[roomKey] {
		out = append(out, m.info)
	}
	return out
}

// notify sends ev to the room's members but except. Callers hold the
// registry's lock.
func (room *Room) notify(except *Member, ev Event) {
	for _, o := range room.members {
		if o != except {
			o.peer.Notify(ev)
		}
	}
}

// notifyChanges tells the members and followers of room key about a
// remote member's streams and mute state going from was to now. Callers
// hold the registry's lock.
func (r *Registry) notifyChanges(key, user string, was, now MemberInfo) {
	for _, s := range []struct {
		kind     string
		was, now bool
	}{{"audio", was.Audio, now.Audio}, {"video", was.Video, now.Video}} {
		if s.was != s.now {
			name := EventStreamRemove
			if s.now {
				name = EventStreamAdd
			}
			r.notifyAll(key, user, Event{Name: name, Data: map[string]string{"userId": user, "kind": s.kind}})
		}
	}
	if was.AudioMuted != now.AudioMuted || was.VideoMuted != now.VideoMuted {
		r.notifyAll(key, user, Event{Name: EventMute, Data: now})
	}
}

// remoteRoomOf is the room of user's session on another node, if any.
// Callers hold mu.
func (r *Registry) remoteRoomOf(app uint32, user string) string {
	for key, members := range r.remote {
		if m := members[user]; m != nil && m.app == app {
			return key
		}
	}
	return ""
}

// forgetRemote drops user's session on another node: a local session
// replaces it (that node kicks its own when it hears). Callers hold mu.
func (r *Registry) forgetRemote(app uint32, user string) {
	for key, members := range r.remote {
		if m := members[user]; m != nil && m.app == app {
			r.remoteQuit(m.node, key, user, "replaced")
		}
	}
}

// fetchWait bounds how long a viewer waits for a publisher on another node
// to be relayed here.
const fetchWait = 3 * time.Second

// Fetch makes publisher playable on this node when it publishes on another
// one; every viewer (WHEP, /ws, the Web SDK, RTMP and FLV players) calls it
// before subscribing. On a single node, or for a local member, it does
// nothing.
func (r *Registry) Fetch(ctx context.Context, roomKey, publisher string) *Error {
	fetch, local := r.fetcher(roomKey, publisher)
	if fetch == nil || local {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, fetchWait)
	defer cancel()
	if err := fetch(ctx, roomKey, publisher); err != nil {
		return Errorf(CodeClusterUnavailable, "%s cannot be played from this node now: %w", publisher, err)
	}
	return nil
}

// fetcher is how to fetch, and whether publisher is a local member.
func (r *Registry) fetcher(roomKey, publisher string) (fetch func(ctx context.Context, roomKey, publisher string) error, local bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fetch, r.rooms[roomKey] != nil && r.rooms[roomKey].members[publisher] != nil
}

// Placement is the node that should serve a room's next member.
type Placement struct {
	Node  string `json:"node"`
	HTTP  string `json:"http"`            // its signalling address, host:port
	HTTPS string `json:"https,omitempty"` // over TLS (the Web SDK's), if it has one
}

// Place says where a room's next member should go; ok is false on a single
// node (here, then).
func (r *Registry) Place(ctx context.Context, roomKey string) (p Placement, ok bool, e *Error) {
	place := r.placer()
	if place == nil {
		return Placement{}, false, nil
	}
	p, err := place(ctx, roomKey)
	if err != nil {
		return Placement{}, false, Errorf(CodeClusterUnavailable, "no node can be chosen for room %s now: %w", roomKey, err)
	}
	return p, true, nil
}

func (r *Registry) placer() func(ctx context.Context, roomKey string) (Placement, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.place
}

// KickRemote asks the node that has user in the room to remove it; false
// when no node is known to have it.
func (r *Registry) KickRemote(app uint32, user, roomKey string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.remote[roomKey][user]
	if m == nil || m.app != app || r.send == nil {
		return false
	}
	r.send(RemoteEvent{Node: r.node, Kind: RemoteKick, Room: roomKey, App: app, User: user, Target: m.node})
	return true
}

// CloseRemote asks every other node to close the room; false when no
// other node is known to have members in it.
func (r *Registry) CloseRemote(roomKey string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.remote[roomKey]) == 0 || r.send == nil {
		return false
	}
	r.send(RemoteEvent{Node: r.node, Kind: RemoteClose, Room: roomKey})
	return true
}
