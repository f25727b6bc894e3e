package restapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/internal/testws"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/ws"
)

// rest calls the room REST API as OpenApp's application server.
func rest(t *testing.T, base, op, identifier, sig string, body string) map[string]any {
	t.Helper()
	return testways.REST(t, base, op, identifier, sig, body)
}

func codeOf(m map[string]any) trtc.Code { return testways.RESTCode(m) }

// sigFor is user's userSig for app, valid for expire.
func sigFor(app uint32, user string, expire time.Duration) string {
	return testways.UserSig(app, user, expire)
}

const open = testways.OpenApp

// joinWS is a /ws client of user in room.
func joinWS(t *testing.T, s *testways.Ways, user string, room uint32) *testws.Client {
	t.Helper()
	c := s.DialWS(t)
	if r := c.Join(ws.JoinData{SDKAppID: open, UserID: user, UserSig: sigFor(open, user, time.Hour), RoomID: room}); r.Code != 0 {
		t.Fatalf("%s's join: %d %s", user, r.Code, r.Message)
	}
	return c
}

// The application server's view of rooms, table-driven where it can be.
func TestRoomRESTAPI(t *testing.T) {
	s := testways.Start(t, 0, nil)
	admin := sigFor(open, trtc.DefaultAdmin, time.Hour)
	for _, tc := range []struct {
		story, op, identifier, sig, body string
		code                             trtc.Code
		message                          string // part of the message; "" to skip
	}{
		{"a user who is not an admin", "get_room_list", "alice", sigFor(open, "alice", time.Hour), "", trtc.RestUnauthorized, `"alice" is not an admin identifier of app 1400000001`},
		{"a forged admin userSig", "get_room_list", trtc.DefaultAdmin, sigFor(open, "alice", time.Hour), "", trtc.RestUnauthorized, "userSig check failed"},
		{"no identifier", "get_room_list", "", admin, "", trtc.RestInvalidParam, "userId is missing"},
		{"no usersig", "get_room_list", trtc.DefaultAdmin, "", "", trtc.RestInvalidParam, "userSig is missing"},
		{"an expired admin userSig", "get_room_list", trtc.DefaultAdmin, sigFor(open, trtc.DefaultAdmin, -time.Hour), "", trtc.RestUnauthorized, "userSig check failed"},
		{"an unknown operation", "dance", trtc.DefaultAdmin, admin, "", trtc.RestBadRequest, `unknown operation "dance"`},
		{"a body that is not JSON", "enter_room", trtc.DefaultAdmin, admin, "{", trtc.RestJSONDecode, ""},
		{"enter without a room", "enter_room", trtc.DefaultAdmin, admin, `{"userId":"alice"}`, trtc.RestInvalidParam, "roomId or strRoomId is required"},
		{"enter a string room TRTC does not allow", "enter_room", trtc.DefaultAdmin, admin, `{"userId":"alice","strRoomId":"a*b"}`, trtc.RestInvalidParam, "has a character TRTC does not allow"},
		{"enter without a user", "enter_room", trtc.DefaultAdmin, admin, `{"roomId":42}`, trtc.RestInvalidParam, "userId is required"},
		{"enter alice", "enter_room", trtc.DefaultAdmin, admin, `{"userId":"alice","roomId":42,"template":"1v1bigsmall"}`, trtc.CodeOK, ""},
		{"enter bob", "enter_room", trtc.DefaultAdmin, admin, `{"userId":"bob","roomId":42}`, trtc.CodeOK, ""},
		{"a third member of the 1v1 room", "enter_room", trtc.DefaultAdmin, admin, `{"userId":"carol","roomId":42}`, trtc.RestEnterFailed, ""},
		{"a heartbeat naming the wrong room", "heartbeat", trtc.DefaultAdmin, admin, `{"userId":"alice","roomId":43}`, trtc.RestRoomMismatch, `user "alice" is in room 42, not 43`},
		{"a heartbeat", "heartbeat", trtc.DefaultAdmin, admin, `{"userId":"alice","roomId":42}`, trtc.CodeOK, ""},
		{"members of a room that is not live", "get_room_members", trtc.DefaultAdmin, admin, `{"roomId":99}`, trtc.RestRoomClosed, "room 99 is not live"},
		{"members by an unknown UUID", "get_room_members", trtc.DefaultAdmin, admin, `{"roomUUID":"nope"}`, trtc.RestNoSuchRoom, ""},
		{"alice exits", "exit_room", trtc.DefaultAdmin, admin, `{"userId":"alice","roomId":42}`, trtc.CodeOK, ""},
		{"alice exits again", "exit_room", trtc.DefaultAdmin, admin, `{"userId":"alice","roomId":42}`, trtc.RestUserLeft, `user "alice" is in no room`},
	} {
		got := rest(t, s.URL, tc.op, tc.identifier, tc.sig, tc.body)
		if codeOf(got) != tc.code || !strings.Contains(got["message"].(string), tc.message) {
			t.Errorf("%s: %v, want code %d and a message with %q", tc.story, got, tc.code, tc.message)
		}
	}

	list := rest(t, s.URL, "get_room_list", trtc.DefaultAdmin, admin, "")
	rooms := list["rooms"].([]any)
	if len(rooms) != 1 || rooms[0].(map[string]any)["memberCount"] != float64(1) {
		t.Fatalf("room list %v", list)
	}
	uuid := rooms[0].(map[string]any)["roomUUID"].(string)
	members := rest(t, s.URL, "get_room_members", trtc.DefaultAdmin, admin, fmt.Sprintf(`{"roomUUID":%q}`, uuid))
	if m := members["members"].([]any); len(m) != 1 || m[0].(map[string]any)["userId"] != "bob" {
		t.Fatalf("members %v", members)
	}
	if m := s.Rooms.Current(open, "bob"); m == nil || !m.Grant.Privilege.CanSendVideo() {
		t.Fatal("a user the application server entered does not have every privilege")
	}

	// A WebSocket member is kicked by the application server.
	dave := joinWS(t, s, "dave", 50)
	if got := rest(t, s.URL, "kick_user", trtc.DefaultAdmin, admin, `{"userId":"dave","roomId":51}`); codeOf(got) != trtc.RestRoomMismatch {
		t.Fatalf("a kick naming the wrong room: %v", got)
	}
	if got := rest(t, s.URL, "kick_user", trtc.DefaultAdmin, admin, `{"userId":"dave","roomId":50}`); codeOf(got) != 0 {
		t.Fatalf("kick: %v", got)
	}
	if d, ok := dave.Event(trtc.EventForceOffline, 2*time.Second); !ok || d["code"] != float64(trtc.CodeKicked) {
		t.Fatalf("the kicked client was not told with %d: %v", trtc.CodeKicked, d)
	}

	// Closing a room tells its members and empties it.
	erin := joinWS(t, s, "erin", 51)
	list = rest(t, s.URL, "get_room_members", trtc.DefaultAdmin, admin, `{"roomId":51}`)
	if got := rest(t, s.URL, "close_room", trtc.DefaultAdmin, admin, fmt.Sprintf(`{"roomUUID":%q}`, list["roomUUID"])); codeOf(got) != 0 {
		t.Fatalf("close: %v", got)
	}
	if _, ok := erin.Event(trtc.EventRoomClosed, 2*time.Second); !ok {
		t.Fatal("erin did not get room-closed")
	}
	if d, ok := erin.Event(trtc.EventClosed, 2*time.Second); !ok || d["code"] != float64(trtc.CodeRoomClosed) {
		t.Fatalf("erin's connection did not end with closed/14003 (not force-offline): %v", d)
	}
	if got := rest(t, s.URL, "get_room_members", trtc.DefaultAdmin, admin, `{"roomId":51}`); codeOf(got) != trtc.RestRoomClosed {
		t.Fatalf("the closed room is still live: %v", got)
	}
	if got := rest(t, s.URL, "close_room", trtc.DefaultAdmin, admin, `{"roomId":51}`); codeOf(got) != trtc.RestRoomClosed {
		t.Fatalf("closing it again: %v", got)
	}
}

// locate_room on a node of its own answers itself, outside a cluster.
func TestLocateRoomOutsideACluster(t *testing.T) {
	s := testways.Start(t, 0, nil)
	got := rest(t, s.URL, "locate_room", trtc.DefaultAdmin, sigFor(open, trtc.DefaultAdmin, time.Hour), `{"roomId":7}`)
	if codeOf(got) != trtc.CodeOK || got["cluster"] != false {
		t.Fatalf("locate: %v", got)
	}
}
