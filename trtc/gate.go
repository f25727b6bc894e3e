package trtc

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

// Gate is the one door of admission. Every way in (/ws, classrooms, WHIP,
// WHEP, RTMP, HTTP-FLV, REST, the mini-program entry, the Web SDK) hands
// the gate what its client presented and what it wants to do, and gets a
// grant or the TRTC error to answer with. Nothing else authenticates, so a
// rule changed here changes for every client at once.
type Gate struct {
	Apps  *Apps
	Rooms *Registry
	// Media tells whether the media plane has a room (an RTMP pusher's or
	// another node's publisher without members here): entering it is not
	// creating it.
	Media MediaRooms
	Now   func() time.Time // for tests; time.Now when nil
}

// Intent is what a client comes to do; each needs its own privilege bits.
type Intent int

const (
	// Enter makes the user a member of the room, creating the room when it
	// does not exist: the enter bit (2), and the create bit (1) for a new
	// room.
	Enter Intent = iota
	// Watch lets the user play one publisher of the room without being a
	// member (WHEP, RTMP and HTTP-FLV players): the enter bit, a receive
	// bit (8 or 32: a viewer who may receive nothing gets no slot), and a
	// viewer slot within the viewer limits.
	Watch
	// Check verifies the credentials and the enter bit without entering:
	// the client enters later by another door (jsonvideoapp hands out the
	// RTMP URLs it will use).
	Check
	// Renew verifies a new privateMapKey for the room a member is in; its
	// privileges replace the old ones.
	Renew
	// Create is the create bit alone (a classroom is created before anyone
	// joins it).
	Create
	// SignIn proves who the user is; no room is involved (classroom login).
	SignIn
	// Administer is SignIn for an admin identifier of the app (the REST
	// API).
	Administer
	// Follow lets a client hear a room's events without being a member
	// (followers.go: the /ws connection of a mini program whose member is
	// its RTMP pusher, with the same userId): the enter bit only. The room
	// need not exist (the pusher creates it), and no capacity is taken.
	Follow
)

// Media is what a client will send or play, when it is known before any
// SDP (an RTMP pusher sends what its stream carries, an `_aux` player
// plays the screen).
type Media uint8

const (
	Audio Media = 1 << iota
	Video
	Sub // the sub-stream: a member's screen share
)

// Request is a client at the gate.
type Request struct {
	Credentials
	Intent Intent
	// Sends, for Enter, is what the client will publish when known now;
	// WebRTC offers are checked by the media plane with the grant.
	Sends Media
	// Publisher, for Watch, is whom the user plays: on another node, it is
	// fetched before the viewer slot is taken.
	Publisher string
	// Plays, for Watch, is Sub for a player of the screen share alone;
	// otherwise the player gets the audio and video it may receive.
	Plays Media
	// OnBehalfOf, for Enter with an admin's credentials, is the user the
	// application server enters (REST enter_room); it gets every privilege.
	OnBehalfOf string
	// Template, Record, Peer and Heartbeats describe the member (Enter);
	// Peer is also the follower's (Follow).
	Template   string
	Record     RecordParams
	Peer       Peer
	Heartbeats bool
	// Unfollow, for Enter, is the follow the client ends by entering: the
	// follower stops hearing the room as the member enters it.
	Unfollow *Follower
}

// Admission is what the gate grants.
type Admission struct {
	Grant   *Grant
	RoomKey string // the media plane's key of the room
	// Member and Others: the member who entered and those already there
	// (Enter).
	Member *Member
	Others []MemberInfo
	// Release gives back a viewer slot (Watch); calling it twice is
	// harmless.
	Release func()
	// Follower (Follow) hears the room until Registry.Unfollow; Others
	// are then the members but the user, and RoomUUID the room's UUID
	// ("" while nobody is in it).
	Follower *Follower
	RoomUUID string
}

// Admit authenticates the request, checks the room id, the privilege bits
// the intent needs and the room rules, and enters the room or takes a
// viewer slot. When the room refuses an Enter or a Watch (room or viewers
// full, another recordId, the publisher's node out of reach), the
// Admission comes back with the error: the credentials were good, and a
// way in may answer differently (RTMP's Publish.Rejected rather than
// Publish.Unauthorized).
func (g *Gate) Admit(ctx context.Context, req Request) (*Admission, *Error) {
	roomless := req.Intent == SignIn || req.Intent == Administer
	if roomless {
		req.Room = tlssig.Room{ID: 1} // a userSig is not bound to rooms
		req.PrivateMapKey = ""        // nor are these requests: a room's privileges are checked where it is entered
	} else if e := CheckRoom(req.Room); e != nil {
		return nil, e
	}
	grant, e := g.Apps.authenticate(req.Credentials, g.now(), !roomless)
	if e != nil {
		return nil, e
	}
	a := &Admission{Grant: grant, RoomKey: RoomKey(req.SDKAppID, req.Room)}
	if e := g.allowed(req, a); e != nil {
		return nil, e
	}
	switch req.Intent {
	case Enter:
		return a, g.enter(req, a)
	case Watch:
		return a, g.watch(ctx, req, a)
	case Follow:
		return a, g.follow(req, a)
	}
	return a, nil
}

// follow takes a viewer slot (a follower costs the room's events as a
// player costs its media, and one userSig must not open hundreds), then
// follows the room; unfollowing gives the slot back.
func (g *Gate) follow(req Request, a *Admission) *Error {
	release, e := g.Rooms.reserveViewer(a.RoomKey, req.SDKAppID, req.UserID)
	if e != nil {
		return e
	}
	a.Follower, a.Others, a.RoomUUID = g.Rooms.follow(req.SDKAppID, req.UserID, req.Room, req.Peer)
	a.Follower.release = release
	return nil
}

// allowed checks the privilege bits of the intent.
func (g *Gate) allowed(req Request, a *Admission) *Error {
	p := a.Grant.Privilege
	switch req.Intent {
	case SignIn, Renew:
		return nil
	case Administer:
		return g.admin(req, a.Grant)
	case Create:
		if !p.CanCreateRoom() {
			return Errorf(CodeNoCreateRoomPrivilege, "the privateMapKey does not allow creating room %s", req.Room)
		}
		// A class takes its room's key, and destroying it ends the room:
		// made over a call in progress, its creator could end a call it
		// has no part in.
		if !a.Grant.App.IsAdmin(req.UserID) && g.liveWithOthers(a.RoomKey, req.UserID) {
			return Errorf(CodeIMNoPermission, "room %s is in use by others: only the app's admin identifier may make it a class", req.Room)
		}
		return nil
	}
	if req.OnBehalfOf != "" {
		return g.admin(req, a.Grant)
	}
	if !p.CanEnterRoom() {
		return Errorf(CodeNoEnterRoomPrivilege, "the privateMapKey does not allow entering room %s", req.Room)
	}
	if req.Intent != Check && req.Intent != Follow && !p.CanCreateRoom() && !g.roomExists(a.RoomKey) {
		return Errorf(CodeNoCreateRoomPrivilege, "room %s does not exist and the privateMapKey does not allow creating it", req.Room)
	}
	if req.Intent == Watch {
		if e := plays(p, req.Plays); e != nil {
			return e
		}
	}
	return sends(p, req.Sends)
}

// plays checks the receive bits of a player: one that would get nothing
// takes no viewer slot.
func plays(p tlssig.Privilege, m Media) *Error {
	switch {
	case m&Sub != 0 && !p.CanRecvSubVideo():
		return Errorf(CodeNoRecvVideoPrivilege, "the privateMapKey does not allow receiving the sub-stream (bit 128)")
	case m&Sub == 0 && !p.CanRecvAudio() && !p.CanRecvVideo():
		return Errorf(CodeNoRecvVideoPrivilege, "the privateMapKey allows receiving neither audio (bit 8) nor video (bit 32)")
	}
	return nil
}

// roomExists: entering a room that exists is not creating it, wherever
// its members or publishers are.
func (g *Gate) roomExists(key string) bool {
	return g.Rooms.Exists(key) || g.Media != nil && g.Media.HasRoom(key)
}

// liveWithOthers reports whether a room has members other than user, here
// or (for a room with no members here) on the media plane.
func (g *Gate) liveWithOthers(key, user string) bool {
	if others, here := g.Rooms.hasOthers(key, user); here {
		return others
	}
	return g.Media != nil && g.Media.HasRoom(key)
}

func (g *Gate) admin(req Request, grant *Grant) *Error {
	if !grant.App.IsAdmin(req.UserID) {
		return Errorf(CodePrivilegeCheckFailed, "%q is not an admin identifier of app %d", req.UserID, req.SDKAppID)
	}
	return nil
}

// sends checks the send bits for what a client will publish.
func sends(p tlssig.Privilege, m Media) *Error {
	switch {
	case m&Video != 0 && !p.CanSendVideo():
		return Errorf(CodeNoSendVideoPrivilege, "the privateMapKey does not allow sending video")
	case m&Audio != 0 && !p.CanSendAudio():
		return Errorf(CodePrivilegeCheckFailed, "the privateMapKey does not allow sending audio (bit 4)")
	}
	return nil
}

// enter applies the room rules and makes the member.
func (g *Gate) enter(req Request, a *Admission) *Error {
	user, grant := req.UserID, a.Grant
	if req.OnBehalfOf != "" {
		if !ValidUserID(req.OnBehalfOf) {
			return Errorf(CodeParamCheckFailed, "userId must be 1 to 32 letters, digits, '_' or '-'")
		}
		user, grant = req.OnBehalfOf, &Grant{App: grant.App, Privilege: tlssig.PrivAll}
		a.Grant = grant
	}
	var e *Error
	a.Member, a.Others, e = g.Rooms.enter(enterRequest{App: req.SDKAppID, UserID: user, Room: req.Room, Grant: grant,
		Template: req.Template, Record: req.Record, Peer: req.Peer, Heartbeats: req.Heartbeats, Unfollow: req.Unfollow})
	return e
}

// watch takes a viewer slot, then fetches the publisher from its node when
// it is elsewhere. The slot comes first, so a user's viewers bound its
// fetches in flight too, each a directory lookup and maybe a relay.
func (g *Gate) watch(ctx context.Context, req Request, a *Admission) *Error {
	release, e := g.Rooms.reserveViewer(a.RoomKey, req.SDKAppID, req.UserID)
	if e != nil {
		return e
	}
	if e := g.Rooms.Fetch(ctx, a.RoomKey, req.Publisher); e != nil {
		release()
		return e
	}
	a.Release = release
	return nil
}

func (g *Gate) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// RoomKey names a room for the media plane: apps are separate, and numeric
// and string room ids are separate namespaces.
func RoomKey(app uint32, r tlssig.Room) string {
	if r.IsString() {
		return strconv.FormatUint(uint64(app), 10) + "/s:" + r.Str
	}
	return strconv.FormatUint(uint64(app), 10) + "/" + strconv.FormatUint(uint64(r.ID), 10)
}

// splitRoomKey is RoomKey's app and room id (a string id as it is).
func splitRoomKey(key string) (app uint32, room string, ok bool) {
	a, room, ok := strings.Cut(key, "/")
	n, err := strconv.ParseUint(a, 10, 32)
	return uint32(n), strings.TrimPrefix(room, "s:"), ok && err == nil
}

// maxStrRoomID is TRTC's limit on string room ids.
const maxStrRoomID = 64

// strRoomIDSymbols, the letters and the digits are the 89 characters TRTC
// allows in a string room id (space is among the symbols).
const strRoomIDSymbols = " !#$%&()+-:;<=.>?@[]^_{}|~,"

// ParseRoom reads a room id as the ways in carry it: a numeric id as text,
// or a string id (which wins when given).
func ParseRoom(id, str string) (tlssig.Room, *Error) {
	if str != "" {
		r := tlssig.Room{Str: str}
		return r, CheckRoom(r)
	}
	n, err := strconv.ParseUint(id, 10, 32)
	if err != nil || n == 0 {
		return tlssig.Room{}, Errorf(CodeMissingRoomID, "roomId %q is not a number from 1 to 4294967295 (use strRoomId for a string room)", id)
	}
	return tlssig.Room{ID: uint32(n)}, nil
}

// CheckRoom is the one validation of a room id: a numeric id is 1 to
// 4294967295, a string id 1 to 64 of the characters TRTC allows.
func CheckRoom(r tlssig.Room) *Error {
	switch {
	case !r.IsString() && r.ID == 0:
		return Errorf(CodeMissingRoomID, "roomId is missing (a numeric roomId is 1 to 4294967295, or give strRoomId)")
	case len(r.Str) > maxStrRoomID:
		return Errorf(CodeParamCheckFailed, "strRoomId is longer than %d bytes", maxStrRoomID)
	case !validStrRoomID(r.Str):
		return Errorf(CodeParamCheckFailed, "strRoomId %q has a character TRTC does not allow (letters, digits, space and %s only)",
			r.Str, strRoomIDSymbols[1:])
	}
	return nil
}

func validStrRoomID(s string) bool {
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune(strRoomIDSymbols, c)) {
			return false
		}
	}
	return true
}
