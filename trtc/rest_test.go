package trtc

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rest calls the room REST API as an application server does.
func rest(t *testing.T, s *whipServer, op, identifier, sig string, body string) map[string]any {
	t.Helper()
	url := fmt.Sprintf("%s/v4/trtcd/%s?sdkappid=%d&identifier=%s&usersig=%s&random=1&contenttype=json", s.URL, op, open, identifier, sig)
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: not JSON: %s", op, b)
	}
	return out
}

func codeOf(m map[string]any) Code { return Code(m["code"].(float64)) }

// The application server's view of rooms, table-driven where it can be.
func TestRoomRESTAPI(t *testing.T) {
	s := startWHIP(t)
	admin := sigFor(open, DefaultAdmin, time.Hour)
	for _, tc := range []struct {
		story, op, identifier, sig, body string
		code                             Code
	}{
		{"a user who is not an admin", "get_room_list", "alice", sigFor(open, "alice", time.Hour), "", RestUnauthorized},
		{"a forged admin userSig", "get_room_list", DefaultAdmin, sigFor(open, "alice", time.Hour), "", RestUnauthorized},
		{"an unknown operation", "dance", DefaultAdmin, admin, "", RestBadRequest},
		{"a body that is not JSON", "enter_room", DefaultAdmin, admin, "{", RestJSONDecode},
		{"enter without a room", "enter_room", DefaultAdmin, admin, `{"userId":"alice"}`, RestInvalidParam},
		{"enter without a user", "enter_room", DefaultAdmin, admin, `{"roomId":42}`, RestInvalidParam},
		{"enter alice", "enter_room", DefaultAdmin, admin, `{"userId":"alice","roomId":42,"template":"1v1bigsmall"}`, CodeOK},
		{"enter bob", "enter_room", DefaultAdmin, admin, `{"userId":"bob","roomId":42}`, CodeOK},
		{"a third member of the 1v1 room", "enter_room", DefaultAdmin, admin, `{"userId":"carol","roomId":42}`, RestEnterFailed},
		{"a heartbeat naming the wrong room", "heartbeat", DefaultAdmin, admin, `{"userId":"alice","roomId":43}`, RestRoomMismatch},
		{"a heartbeat", "heartbeat", DefaultAdmin, admin, `{"userId":"alice","roomId":42}`, CodeOK},
		{"members of a room that is not live", "get_room_members", DefaultAdmin, admin, `{"roomId":99}`, RestRoomClosed},
		{"members by an unknown UUID", "get_room_members", DefaultAdmin, admin, `{"roomUUID":"nope"}`, RestNoSuchRoom},
		{"alice exits", "exit_room", DefaultAdmin, admin, `{"userId":"alice","roomId":42}`, CodeOK},
		{"alice exits again", "exit_room", DefaultAdmin, admin, `{"userId":"alice","roomId":42}`, RestUserLeft},
	} {
		if got := rest(t, s, tc.op, tc.identifier, tc.sig, tc.body); codeOf(got) != tc.code {
			t.Errorf("%s: %v, want code %d", tc.story, got, tc.code)
		}
	}

	list := rest(t, s, "get_room_list", DefaultAdmin, admin, "")
	rooms := list["rooms"].([]any)
	if len(rooms) != 1 || rooms[0].(map[string]any)["memberCount"] != float64(1) {
		t.Fatalf("room list %v", list)
	}
	uuid := rooms[0].(map[string]any)["roomUUID"].(string)
	members := rest(t, s, "get_room_members", DefaultAdmin, admin, fmt.Sprintf(`{"roomUUID":%q}`, uuid))
	if m := members["members"].([]any); len(m) != 1 || m[0].(map[string]any)["userId"] != "bob" {
		t.Fatalf("members %v", members)
	}

	// A WebSocket member is kicked by the application server.
	dave := dial(t, s)
	if r := dave.join(joinData(open, "dave", 50)); r.Code != 0 {
		t.Fatal(r.Message)
	}
	if got := rest(t, s, "kick_user", DefaultAdmin, admin, `{"userId":"dave","roomId":50}`); codeOf(got) != 0 {
		t.Fatalf("kick: %v", got)
	}
	if _, ok := dave.event(EventForceOffline, 2*time.Second); !ok {
		t.Fatal("the kicked client was not told")
	}

	// Closing a room tells its members and empties it.
	erin := dial(t, s)
	erin.join(joinData(open, "erin", 51))
	list = rest(t, s, "get_room_members", DefaultAdmin, admin, `{"roomId":51}`)
	if got := rest(t, s, "close_room", DefaultAdmin, admin, fmt.Sprintf(`{"roomUUID":%q}`, list["roomUUID"])); codeOf(got) != 0 {
		t.Fatalf("close: %v", got)
	}
	if _, ok := erin.event(EventRoomClosed, 2*time.Second); !ok {
		t.Fatal("erin did not get room-closed")
	}
	if d, ok := erin.event(EventClosed, 2*time.Second); !ok || d["code"] != float64(RestRoomClosed) {
		t.Fatalf("erin's connection did not end with closed/14003 (not force-offline): %v", d)
	}
	if got := rest(t, s, "get_room_members", DefaultAdmin, admin, `{"roomId":51}`); codeOf(got) != RestRoomClosed {
		t.Fatalf("the closed room is still live: %v", got)
	}
}
