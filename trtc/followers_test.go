package trtc

import (
	"context"
	"testing"
	"time"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

// followAs makes user a follower of room 9 of app 1 (enterAs's room).
func followAs(r *Registry, user string) (*Follower, []MemberInfo, string, *eventPeer) {
	p := &eventPeer{}
	f, others, uuid := r.follow(1, user, tlssig.Room{ID: 9}, p)
	return f, others, uuid, p
}

// A follower hears what members hear, never about its own userId (its
// RTMP pusher, a member with the same userId): joins, streams, mutes,
// quits with the player-disconnect of a timeout, and the room closing. The
// room need not exist when it starts following, and it stays followed
// after the room closes.
func TestAFollowerHearsTheRoomButNotItself(t *testing.T) {
	r := NewRegistry(20, 0)
	defer r.Close()
	f, others, uuid, pf := followAs(r, "alice")
	if len(others) != 0 || uuid != "" || others == nil {
		t.Fatalf("following a room nobody is in: members %v (nil: %v), uuid %q", others, others == nil, uuid)
	}
	alice, _, _ := enterAs(t, r, "alice", "") // the pusher
	r.Streams(alice.Room.Key, "alice", "video", true)
	r.Mute(alice, true, false)
	if got := pf.take(); got != "" {
		t.Fatalf("the follower heard about its own user: %q", got)
	}
	bob, _, _ := enterAs(t, r, "bob", "")
	r.Streams(bob.Room.Key, "bob", "video", true)
	r.Mute(bob, true, false)
	if got := pf.take(); got != "member-join bob, stream-add bob video, mute bob audioMuted=true" {
		t.Fatalf("the follower was told %q", got)
	}
	if ms := r.Followed(f); names(ms) != "bob" {
		t.Fatalf("the follower's member list is %q, want bob only", names(ms))
	}
	r.Leave(bob, "timeout")
	if got := pf.take(); got != "member-quit bob timeout, player-disconnect bob " {
		t.Fatalf("the follower was told %q", got)
	}
	carol, _, _ := enterAs(t, r, "carol", "")
	r.Broadcast(carol.Room.Key, Event{Name: "message"})
	pf.take()
	r.CloseRoom(carol.Room)
	if got := pf.take(); got != "room-closed  , member-quit carol room-closed" {
		t.Fatalf("on closing the room the follower was told %q", got)
	}
	enterAs(t, r, "dave", "")
	if got := pf.take(); got != "member-join dave" {
		t.Fatalf("after the room came back the follower was told %q", got)
	}
	r.Unfollow(f)
	r.Unfollow(f) // harmless
	enterAs(t, r, "erin", "")
	if got := pf.take(); got != "" {
		t.Fatalf("after unfollowing the follower was told %q", got)
	}
}

// A follower takes no place in the room: a 1v1 room with two members is
// followed by a third user, and stays full. Entering ends the client's
// follow at once, so it hears nothing twice.
func TestAFollowerIsNoMember(t *testing.T) {
	r := NewRegistry(20, 0)
	defer r.Close()
	enterAs(t, r, "alice", "1v1bigsmall")
	enterAs(t, r, "bob", "1v1bigsmall")
	_, others, uuid, _ := followAs(r, "carol")
	if len(others) != 2 || uuid == "" {
		t.Fatalf("the follower of a full room got members %q, uuid %q", names(others), uuid)
	}
	p := &eventPeer{}
	if _, _, e := r.enter(enterRequest{App: 1, UserID: "dave", Room: tlssig.Room{ID: 9}, Grant: &Grant{Privilege: tlssig.PrivAll}, Peer: p}); codeOf(e) != CodeRoomFull {
		t.Fatalf("a third member of the followed 1v1 room: %v, want %d", e, CodeRoomFull)
	}
	r2 := NewRegistry(20, 0)
	defer r2.Close()
	f2, _, _, pf2 := followAs(r2, "carol")
	enterAs(t, r2, "alice", "")
	pf2.take()
	if _, _, e := r2.enter(enterRequest{App: 1, UserID: "carol", Room: tlssig.Room{ID: 9}, Grant: &Grant{Privilege: tlssig.PrivAll}, Peer: pf2, Unfollow: f2}); e != nil {
		t.Fatal(e)
	}
	enterAs(t, r2, "bob", "")
	if got := pf2.take(); got != "member-join bob" {
		t.Fatalf("the follower that joined was told %q, want one member-join", got)
	}
}

// On a cluster a follower hears the members of other nodes as members
// do, and its member list and room UUID include them.
func TestAFollowerHearsMembersOnOtherNodes(t *testing.T) {
	b, nodes := federated(t, "a", "b")
	alice, _, _ := enterAs(t, nodes["a"], "alice", "")
	bob, _, _ := enterAs(t, nodes["a"], "bob", "")
	b.flush()
	_, others, uuid, pf := followAs(nodes["b"], "alice")
	if names(others) != "bob" || uuid != alice.Room.UUID {
		t.Fatalf("a follower on b of alice's room got members %q and uuid %q, want bob and %q", names(others), uuid, alice.Room.UUID)
	}
	nodes["a"].Streams(bob.Room.Key, "bob", "video", true)
	nodes["a"].Streams(alice.Room.Key, "alice", "video", true)
	nodes["a"].Mute(bob, true, false)
	carol, _, _ := enterAs(t, nodes["a"], "carol", "")
	nodes["a"].Leave(bob, "leave")
	nodes["a"].Leave(carol, "leave")
	b.flush()
	if got := pf.take(); got != "stream-add bob video, mute bob audioMuted=true, member-join carol, member-quit bob leave, member-quit carol leave" {
		t.Fatalf("the follower on b was told %q", got)
	}
}

// Follow through the gate: the enter bit, the app's privateMapKey rule,
// and nothing about capacity.
func TestGateFollow(t *testing.T) {
	rooms := NewRegistry(0, time.Hour)
	defer rooms.Close()
	gate := &Gate{Apps: testApps(t), Rooms: rooms, Now: func() time.Time { return now }}
	room := tlssig.Room{ID: 77}
	follow := func(app uint32, pmk string) (*Admission, *Error) {
		return gate.Admit(context.Background(), Request{Intent: Follow, Peer: &eventPeer{},
			Credentials: Credentials{SDKAppID: app, UserID: "amy", UserSig: tlssig.GenUserSig(key, app, "amy", time.Hour, now), PrivateMapKey: pmk, Room: room}})
	}
	if _, e := follow(strict, ""); codeOf(e) != CodePrivateMapKeyEmpty {
		t.Fatalf("a follower without the privateMapKey its app requires: %v", e)
	}
	if _, e := follow(strict, tlssig.GenPrivateMapKey(key, strict, "amy", time.Hour, now, room, tlssig.PrivAll&^tlssig.PrivEnterRoom)); codeOf(e) != CodeNoEnterRoomPrivilege {
		t.Fatalf("a follower without the enter bit: %v", e)
	}
	a, e := follow(strict, tlssig.GenPrivateMapKey(key, strict, "amy", time.Hour, now, room, tlssig.PrivEnterRoom))
	if e != nil || a.Follower == nil || a.Member != nil || rooms.Exists(RoomKey(strict, room)) {
		t.Fatalf("a follower with the enter bit alone: %+v %v", a, e)
	}
}

// Following takes a viewer slot: one user's followers are bounded as its
// players are (102052 past ViewersPerUser), and unfollowing frees the slot.
func TestFollowersTakeViewerSlots(t *testing.T) {
	rooms := NewRegistry(0, time.Hour)
	defer rooms.Close()
	rooms.ViewersPerUser = 2
	gate := &Gate{Apps: testApps(t), Rooms: rooms, Now: func() time.Time { return now }}
	follow := func(room uint32) (*Admission, *Error) {
		return gate.Admit(context.Background(), Request{Intent: Follow, Peer: &eventPeer{},
			Credentials: Credentials{SDKAppID: open, UserID: "amy", UserSig: tlssig.GenUserSig(key, open, "amy", time.Hour, now), Room: tlssig.Room{ID: room}}})
	}
	first, e := follow(1)
	if e != nil {
		t.Fatal(e)
	}
	if _, e := follow(2); e != nil {
		t.Fatal(e)
	}
	if _, e := follow(3); codeOf(e) != CodeRoomFull {
		t.Fatalf("a third follower of one user: %v, want %d", e, CodeRoomFull)
	}
	rooms.Unfollow(first.Follower)
	rooms.Unfollow(first.Follower) // twice: the slot is given back once
	if _, e := follow(3); e != nil {
		t.Fatalf("after unfollowing: %v", e)
	}
	if n := rooms.ViewerSessions(open, "amy"); n != 2 {
		t.Fatalf("%d viewer sessions, want 2", n)
	}
}
