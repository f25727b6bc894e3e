package trtc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

// Event is something that happened in a room, pushed to members.
type Event struct {
	Name string `json:"event"`
	Data any    `json:"data,omitempty"`
}

// The events members receive.
const (
	EventMemberJoin       = "member-join"
	EventMemberQuit       = "member-quit"
	EventPlayerDisconnect = "player-disconnect"
	EventStreamAdd        = "stream-add"
	EventStreamRemove     = "stream-remove"
	EventMute             = "mute"
	EventForceOffline     = "force-offline"
	EventRoomClosed       = "room-closed"
	// EventClosed is the last event of a connection the server closes
	// (heartbeat timeout, limits), with the code and the reason.
	EventClosed = "closed"
)

// MemberInfo is a member as the others see it.
type MemberInfo struct {
	UserID     string `json:"userId"`
	Audio      bool   `json:"audio"` // publishing audio
	Video      bool   `json:"video"` // publishing video (the main stream)
	Small      bool   `json:"small"` // publishing the small stream
	Sub        bool   `json:"sub"`   // publishing the sub-stream (screen share)
	AudioMuted bool   `json:"audioMuted"`
	VideoMuted bool   `json:"videoMuted"`
}

// Member is a user in a room.
type Member struct {
	App    uint32
	UserID string
	Room   *Room
	Grant  *Grant
	// Record is what the member asked to have recorded (RecordID empty:
	// nothing).
	Record RecordParams
	peer   Peer
	// heartbeats: a member that stops sending them is removed.
	heartbeats bool
	lastSeen   atomic.Int64 // unix nanoseconds
	since      int64        // when it entered, unix nanoseconds

	info MemberInfo // guarded by the registry's lock
	// done is closed when the member leaves or is replaced (under the
	// registry's lock, once).
	done chan struct{}
}

// Done is closed when the member has left the room, or another session of
// the user has replaced it: what hangs on the member (a screen share
// published beside its camera) ends with it.
func (m *Member) Done() <-chan struct{} { return m.done }

// Room is a live room: created by its first member, closed with its last.
type Room struct {
	Key      string // the media plane's key (RoomKey)
	App      uint32
	ID       tlssig.Room
	UUID     string
	Template string
	Capacity int
	Created  time.Time
	// RecordID is the business recordId the room's members record with:
	// TRTC requires one per room.
	RecordID string

	members map[string]*Member
}

// Registry holds the live rooms and applies TRTC's room rules: privileges
// to create and enter, room capacity (two in 1v1 templates), one session per
// user and app (a new login takes over), heartbeats.
type Registry struct {
	// DefaultCapacity is the member limit of rooms without a 1v1 template.
	DefaultCapacity int
	// HeartbeatTimeout removes members whose heartbeats stop.
	HeartbeatTimeout time.Duration
	// OnLeave, when set, runs after a member is removed (outside the lock).
	OnLeave func(m *Member, reason string)
	// ViewersPerRoom bounds a room's viewers who are not members: WHEP,
	// RTMP and HTTP-FLV players [100].
	ViewersPerRoom int
	// ViewersPerUser bounds one userId's viewer sessions across all rooms
	// of its app [50]: each player costs memory and an audio transcoder,
	// and one userSig must not be able to open hundreds.
	ViewersPerUser int

	mu    sync.Mutex
	rooms map[string]*Room
	users map[userKey]*Member
	// followers hear a room's events without being members
	// (followers.go), by room key: the room need not exist.
	followers map[string]map[*Follower]struct{}

	stopSweep chan struct{}
	sweepOnce sync.Once

	viewersMu      sync.Mutex
	viewers        map[string]int  // viewers who are not members, per room key
	viewerSessions map[userKey]int // viewer sessions per user, across rooms

	// Other nodes' members (remote.go); nil on a single node.
	node   string
	send   func(RemoteEvent)
	remote map[string]map[string]*remoteMember // room key → user → member
	heard  map[string]time.Time                // node → last event
	fetch  func(ctx context.Context, roomKey, publisher string) error
	place  func(ctx context.Context, roomKey string) (Placement, error)
	// recorder and claim place recordings on a cluster (remote_record.go).
	recorder Recorder
	claim    func(recordID string) bool
}

type userKey struct {
	app  uint32
	user string
}

// Default room rules.
const (
	DefaultRoomCapacity     = 20
	DefaultHeartbeatTimeout = 30 * time.Second
	oneToOneCapacity        = 2
)

// NewRegistry makes a registry and starts its heartbeat sweeper.
func NewRegistry(capacity int, heartbeatTimeout time.Duration) *Registry {
	if capacity <= 0 {
		capacity = DefaultRoomCapacity
	}
	if heartbeatTimeout <= 0 {
		heartbeatTimeout = DefaultHeartbeatTimeout
	}
	r := &Registry{
		DefaultCapacity: capacity, HeartbeatTimeout: heartbeatTimeout,
		rooms: map[string]*Room{}, users: map[userKey]*Member{}, followers: map[string]map[*Follower]struct{}{},
		stopSweep: make(chan struct{}),
	}
	go r.sweep()
	return r
}

// Close stops the sweeper.
func (r *Registry) Close() { r.sweepOnce.Do(func() { close(r.stopSweep) }) }

// enterRequest is a user the gate has admitted, entering a room.
type enterRequest struct {
	App      uint32
	UserID   string
	Room     tlssig.Room
	Grant    *Grant
	Template string
	Record   RecordParams // checked against the room's recordId
	Peer     Peer
	// Heartbeats: the client promises heartbeats (WebSocket clients);
	// others (WHIP) are watched by their transport instead.
	Heartbeats bool
	// Unfollow is the follow the member's client ends by entering (a /ws
	// connection that followed the room joins it), at once with the entry,
	// so no event reaches it twice.
	Unfollow *Follower
}

// capacityFor: the webrtc-room component's 1v1 templates admit two members.
func (r *Registry) capacityFor(template string) int {
	if strings.HasPrefix(strings.ToLower(template), "1v1") {
		return oneToOneCapacity
	}
	return r.DefaultCapacity
}

// enter applies the room rules (capacity, one recordId per room, one
// session per user) to a user the gate admitted, creating the room when
// needed. It returns the member and the others already there. A user
// already signed in to the app elsewhere is taken over: the old session
// gets force-offline.
func (r *Registry) enter(req enterRequest) (*Member, []MemberInfo, *Error) {
	key := RoomKey(req.App, req.Room)
	r.mu.Lock()
	room := r.rooms[key]
	if rid := req.Record.RecordID; room != nil && rid != "" && room.RecordID != "" && room.RecordID != rid {
		r.mu.Unlock()
		return nil, nil, Errorf(CodeParamCheckFailed, "room %s records with recordId %q: every member must use the same recordId, not %q",
			req.Room, room.RecordID, rid)
	}
	old := r.users[userKey{req.App, req.UserID}]
	elsewhere := r.remoteRoomOf(req.App, req.UserID) // another node's session of the user: this one replaces it
	if room != nil && len(room.members)+len(r.remote[key]) >= room.Capacity && !(old != nil && old.Room == room) && elsewhere != key {
		r.mu.Unlock()
		return nil, nil, Errorf(CodeRoomFull, "room %s is full (%d members)", req.Room, room.Capacity)
	}
	if old != nil {
		r.removeLocked(old, "replaced")
		room = r.rooms[key] // the old session may have been the last member
	}
	if room == nil {
		room = &Room{Key: key, App: req.App, ID: req.Room, UUID: r.roomUUID(key), Template: req.Template,
			Capacity: r.capacityFor(req.Template), Created: time.Now(), members: map[string]*Member{}}
		r.rooms[key] = room
	}
	if room.RecordID == "" {
		room.RecordID = req.Record.RecordID
	}
	m := &Member{App: req.App, UserID: req.UserID, Room: room, Grant: req.Grant, Record: req.Record, peer: req.Peer,
		heartbeats: req.Heartbeats, info: MemberInfo{UserID: req.UserID}, done: make(chan struct{})}
	m.since = time.Now().UnixNano()
	m.lastSeen.Store(m.since)
	r.forgetRemote(req.App, req.UserID)
	if req.Unfollow != nil {
		r.unfollowLocked(req.Unfollow)
	}
	others := r.remoteInfos(key)
	joined := Event{Name: EventMemberJoin, Data: memberEvent{UserID: req.UserID, UserIDs: []string{req.UserID}}}
	for _, o := range room.members {
		others = append(others, o.info)
		o.peer.Notify(joined)
	}
	r.tellFollowers(key, req.UserID, joined)
	room.members[req.UserID] = m
	r.users[userKey{req.App, req.UserID}] = m
	r.tell(RemoteJoin, m, "")
	r.mu.Unlock()
	if old != nil {
		old.peer.Kick(Errorf(CodeForceOffline, "user %s signed in again elsewhere", req.UserID))
		r.left(old, "replaced")
	}
	return m, others, nil
}

// Leave removes a member (no-op when already gone).
func (r *Registry) Leave(m *Member, reason string) {
	r.mu.Lock()
	if r.users[userKey{m.App, m.UserID}] != m && m.Room.members[m.UserID] != m {
		r.mu.Unlock()
		return
	}
	r.removeLocked(m, reason)
	r.mu.Unlock()
	r.left(m, reason)
}

// removeLocked takes m out, tells the others, and closes an empty room.
func (r *Registry) removeLocked(m *Member, reason string) {
	if r.users[userKey{m.App, m.UserID}] == m {
		delete(r.users, userKey{m.App, m.UserID})
	}
	room := m.Room
	if room.members[m.UserID] != m {
		return
	}
	delete(room.members, m.UserID)
	close(m.done)
	r.tell(RemoteQuit, m, reason)
	quit := []Event{{Name: EventMemberQuit, Data: memberEvent{UserID: m.UserID, UserIDs: []string{m.UserID}, Reason: reason}}}
	if reason == "timeout" {
		quit = append(quit, Event{Name: EventPlayerDisconnect, Data: map[string]string{"userId": m.UserID}})
	}
	for _, ev := range quit {
		room.notify(nil, ev)
		r.tellFollowers(room.Key, m.UserID, ev)
	}
	if len(room.members) == 0 {
		delete(r.rooms, room.Key)
	}
}

// memberEvent is member-join and member-quit: userIds is the array TIC's
// onTICMemberJoin/onTICMemberQuit take.
type memberEvent struct {
	UserID  string   `json:"userId"`
	UserIDs []string `json:"userIds"`
	Reason  string   `json:"reason,omitempty"`
}

func (r *Registry) left(m *Member, reason string) {
	if r.OnLeave != nil {
		r.OnLeave(m, reason)
	}
}

// Heartbeat records that a member is alive.
func (r *Registry) Heartbeat(m *Member) { m.lastSeen.Store(time.Now().UnixNano()) }

// Keys lists the rooms with members on this node.
func (r *Registry) Keys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]string, 0, len(r.rooms))
	for k := range r.rooms {
		keys = append(keys, k)
	}
	return keys
}

// Exists reports whether a room is live.
func (r *Registry) Exists(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rooms[key] != nil
}

// hasOthers reports whether the room with key has members here (here) and
// whether any of them is not user (others).
func (r *Registry) hasOthers(key, user string) (others, here bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	room := r.rooms[key]
	if room == nil {
		return false, false
	}
	for id := range room.members {
		if id != user {
			return true, true
		}
	}
	return false, true
}

// Streams records what a member publishes and tells the others.
func (r *Registry) Streams(roomKey, userID, kind string, published bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	room := r.rooms[roomKey]
	if room == nil || room.members[userID] == nil {
		return
	}
	m := room.members[userID]
	switch kind {
	case "audio":
		m.info.Audio = published
	case "video":
		m.info.Video = published
	case "small":
		m.info.Small = published
	case "sub":
		m.info.Sub = published
	}
	r.tell(RemoteStream, m, "")
	name := EventStreamRemove
	if published {
		name = EventStreamAdd
	}
	ev := Event{Name: name, Data: map[string]string{"userId": userID, "kind": kind}}
	room.notify(m, ev)
	r.tellFollowers(roomKey, userID, ev)
}

// Mute records a member's mute state and tells the others when it changed.
func (r *Registry) Mute(m *Member, audioMuted, videoMuted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.Room.members[m.UserID] != m {
		return
	}
	if m.info.AudioMuted == audioMuted && m.info.VideoMuted == videoMuted {
		return // a repeat tells nobody anything, and would cost every member and node a message
	}
	m.info.AudioMuted, m.info.VideoMuted = audioMuted, videoMuted
	r.tell(RemoteMute, m, "")
	ev := Event{Name: EventMute, Data: m.info}
	m.Room.notify(m, ev)
	r.tellFollowers(m.Room.Key, m.UserID, ev)
}

// InfoOf is what a member publishes and whether it is muted.
func (r *Registry) InfoOf(m *Member) MemberInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return m.info
}

// Members lists a room's members.
func (r *Registry) Members(m *Member) []MemberInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.remoteInfos(m.Room.Key)
	for _, o := range m.Room.members {
		out = append(out, o.info)
	}
	return out
}

// sweep removes members whose heartbeats stopped.
func (r *Registry) sweep() {
	tick := time.NewTicker(max(r.HeartbeatTimeout/4, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-r.stopSweep:
			return
		case <-tick.C:
		}
		deadline := time.Now().Add(-r.HeartbeatTimeout).UnixNano()
		var stale []*Member
		r.mu.Lock()
		for _, room := range r.rooms {
			for _, m := range room.members {
				if m.heartbeats && m.lastSeen.Load() < deadline {
					stale = append(stale, m)
				}
			}
		}
		r.mu.Unlock()
		for _, m := range stale { // leave first: the others learn why
			r.Leave(m, "timeout")
			m.peer.Kick(Errorf(CodeHeartbeatTimeout, "no heartbeat for %s", r.HeartbeatTimeout))
		}
	}
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Broadcast sends an event to every member and follower of a room. Their
// queues get events in the order Broadcast is called from one goroutine or
// under one lock (a class's messages are: sendGroup holds the class's
// lock, and the cluster delivers them from one reader).
func (r *Registry) Broadcast(roomKey string, ev Event) {
	// Told without the registry's lock, which every join and leave on the
	// node takes: a peer encodes the event for its client in Notify, a
	// classroom message of 12 KB costs about 0.1 ms per recipient, and a
	// busy class would hold everyone else's joins up.
	r.mu.Lock()
	peers := r.audience(roomKey, "")
	r.mu.Unlock()
	for _, p := range peers {
		p.Notify(ev)
	}
}

// RoomByKey is the room with key, if it has members here.
func (r *Registry) RoomByKey(key string) *Room {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rooms[key]
}
