package trtc

import (
	"context"
	"testing"
	"time"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

// mediaRooms is a media plane with the rooms it names.
type mediaRooms map[string]bool

func (m mediaRooms) HasRoom(key string) bool { return m[key] }

// The privilege table of the gate: each intent needs its bits, and every
// refusal carries the code the TRTC clients know.
func TestGatePrivileges(t *testing.T) {
	rooms := NewRegistry(0, time.Hour)
	defer rooms.Close()
	live, pushed := tlssig.Room{ID: 1}, tlssig.Room{ID: 2} // 1 has a member, 2 only an RTMP pusher's media
	gate := &Gate{Apps: testApps(t), Rooms: rooms, Media: mediaRooms{RoomKey(open, pushed): true}, Now: func() time.Time { return now }}
	enter := func(user string, room tlssig.Room, p tlssig.Privilege, in Request) *Error {
		in.Credentials = Credentials{SDKAppID: open, UserID: user, UserSig: tlssig.GenUserSig(key, open, user, time.Hour, now),
			PrivateMapKey: tlssig.GenPrivateMapKey(key, open, user, time.Hour, now, room, p), Room: room}
		if in.Peer == nil {
			in.Peer = &silentPeer{}
		}
		_, e := gate.Admit(context.Background(), in)
		return e
	}
	if e := enter("owner", live, tlssig.PrivAll, Request{Intent: Enter}); e != nil {
		t.Fatal(e)
	}
	new := tlssig.Room{ID: 3}
	all, noCreate := tlssig.PrivAll, tlssig.PrivAll&^tlssig.PrivCreateRoom
	for _, c := range []struct {
		story string
		room  tlssig.Room
		priv  tlssig.Privilege
		req   Request
		want  Code
	}{
		{"a member enters a live room without the create bit", live, noCreate, Request{Intent: Enter}, CodeOK},
		{"nobody enters without the enter bit", live, all &^ tlssig.PrivEnterRoom, Request{Intent: Enter}, CodeNoEnterRoomPrivilege},
		{"a new room needs the create bit", new, noCreate, Request{Intent: Enter}, CodeNoCreateRoomPrivilege},
		{"a room with only a pusher's media exists", pushed, noCreate, Request{Intent: Enter}, CodeOK},
		{"an RTMP pusher needs the send-video bit", live, all &^ tlssig.PrivSendVideo, Request{Intent: Enter, Sends: Audio | Video}, CodeNoSendVideoPrivilege},
		{"an audio-only pusher needs only send-audio", live, all &^ tlssig.PrivSendVideo, Request{Intent: Enter, Sends: Audio}, CodeOK},
		{"a pusher without send-audio", live, all &^ tlssig.PrivSendAudio, Request{Intent: Enter, Sends: Audio}, CodePrivilegeCheckFailed},
		{"a viewer needs the enter bit", live, all &^ tlssig.PrivEnterRoom, Request{Intent: Watch, Publisher: "owner"}, CodeNoEnterRoomPrivilege},
		{"a viewer who may receive nothing gets no slot", live, all &^ (tlssig.PrivRecvAudio | tlssig.PrivRecvVideo), Request{Intent: Watch, Publisher: "owner"}, CodeNoRecvVideoPrivilege},
		{"a viewer who may receive audio only watches", live, all &^ tlssig.PrivRecvVideo, Request{Intent: Watch, Publisher: "owner"}, CodeOK},
		{"a screen's viewer needs bit 128", live, all &^ tlssig.PrivRecvSubVideo, Request{Intent: Watch, Publisher: "owner", Plays: Sub}, CodeNoRecvVideoPrivilege},
		{"a screen's viewer needs nothing but bit 128", live, tlssig.PrivEnterRoom | tlssig.PrivRecvSubVideo, Request{Intent: Watch, Publisher: "owner", Plays: Sub}, CodeOK},
		{"bit 128 alone does not play the camera", live, tlssig.PrivEnterRoom | tlssig.PrivRecvSubVideo, Request{Intent: Watch, Publisher: "owner"}, CodeNoRecvVideoPrivilege},
		{"a viewer of a room that does not exist needs create", new, noCreate, Request{Intent: Watch, Publisher: "x"}, CodeNoCreateRoomPrivilege},
		{"jsonvideoapp checks the enter bit only", new, noCreate, Request{Intent: Check}, CodeOK},
		{"a follower needs the enter bit", live, all &^ tlssig.PrivEnterRoom, Request{Intent: Follow}, CodeNoEnterRoomPrivilege},
		{"a follower of a room nobody is in yet needs no create bit", new, noCreate, Request{Intent: Follow}, CodeOK},
		{"a class is created with the create bit", new, noCreate, Request{Intent: Create}, CodeNoCreateRoomPrivilege},
		{"a renewed key is only verified", live, 0, Request{Intent: Renew}, CodeOK},
		{"an admin identifier administers", live, all, Request{Intent: Administer}, CodePrivilegeCheckFailed},
	} {
		user := "user"
		if got := codeOf(enter(user, c.room, c.priv, c.req)); got != c.want {
			t.Errorf("%s: code %d, want %d", c.story, got, c.want)
		}
		if m := rooms.Current(open, user); m != nil {
			rooms.Leave(m, "leave")
		}
	}
}

// The application server enters a user on the word of an admin identifier;
// anyone else is refused.
func TestGateEntersOnBehalfOfAnAdmin(t *testing.T) {
	rooms := NewRegistry(0, time.Hour)
	defer rooms.Close()
	gate := &Gate{Apps: testApps(t), Rooms: rooms, Now: func() time.Time { return now }}
	onBehalf := func(admin, user string) (*Admission, *Error) {
		return gate.Admit(context.Background(), Request{Intent: Enter, OnBehalfOf: user, Peer: &silentPeer{},
			Credentials: Credentials{SDKAppID: open, UserID: admin, UserSig: tlssig.GenUserSig(key, open, admin, time.Hour, now), Room: tlssig.Room{ID: 5}}})
	}
	as := func(admin string) (*Admission, *Error) { return onBehalf(admin, "pupil") }
	if _, e := onBehalf(DefaultAdmin, "ms-li · Teacher"); codeOf(e) != CodeParamCheckFailed {
		t.Fatalf("the admin entered a userId no client may have: %v", e)
	}
	if _, e := as("pupil"); codeOf(e) != CodePrivilegeCheckFailed {
		t.Fatalf("a user entered itself on its own word: %v", e)
	}
	a, e := as(DefaultAdmin)
	if e != nil {
		t.Fatal(e)
	}
	if a.Member.UserID != "pupil" || a.Grant.Privilege != tlssig.PrivAll {
		t.Fatalf("entered %q with privileges %d, want pupil with all", a.Member.UserID, a.Grant.Privilege)
	}
}

// One validation of room ids for every way in.
func TestCheckRoom(t *testing.T) {
	for _, c := range []struct {
		room tlssig.Room
		want Code
	}{
		{tlssig.Room{ID: 1}, CodeOK},
		{tlssig.Room{}, CodeMissingRoomID},
		{tlssig.Room{Str: "class 7"}, CodeOK},
		{tlssig.Room{Str: "class/7"}, CodeParamCheckFailed},
		{tlssig.Room{Str: string(make([]byte, 65))}, CodeParamCheckFailed},
	} {
		if got := codeOf(CheckRoom(c.room)); got != c.want {
			t.Errorf("%+v: code %d, want %d", c.room, got, c.want)
		}
	}
}

// codeOf is e's code, 0 for none (a nil *Error is not a nil error).
func codeOf(e *Error) Code {
	if e == nil {
		return CodeOK
	}
	return e.Code
}
