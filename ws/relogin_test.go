package ws_test

import (
	"testing"
	"time"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/ws"
)

// One connection logs in as alice, then as bob (TIC's login on a
// logged-in instance): it is bob's alone from then on. A C2C message to
// alice gets 20003 instead of reaching bob's connection, and alice signs
// in elsewhere without bob's connection being forced offline.
func TestALoginAsAnotherUserSignsTheFirstOut(t *testing.T) {
	s := testways.StartClasses(t, t.TempDir(), ws.DefaultLimits, classroom.DefaultLimits)
	conn := s.LoggedIn(t, "alice")
	if r := conn.Request("login", ws.LoginData{SDKAppID: testways.OpenApp, UserID: "bob", UserSig: testways.UserSig(testways.OpenApp, "bob", time.Hour)}); r.Code != 0 {
		t.Fatalf("login as bob after alice: %d %s", r.Code, r.Message)
	}
	carol := s.LoggedIn(t, "carol")
	if r := carol.Request("sendMessage", text("alice", "to alice", "c1")); r.Code != trtc.CodeIMUnknownReceiver {
		t.Fatalf("a C2C message to alice, signed out by the second login: code %d (%s), want %d", r.Code, r.Message, trtc.CodeIMUnknownReceiver)
	}

	alice := s.LoggedIn(t, "alice")
	// A force-offline of conn would have been queued before alice's login
	// was answered, so before the answer to conn's next request, and the
	// connection would then be closed.
	if r := conn.Request("sendMessage", text("carol", "from bob", "b1")); r.Code != 0 {
		t.Fatalf("bob's connection after alice signed in elsewhere: code %d (%s)", r.Code, r.Message)
	}
	if n := conn.Count(trtc.EventForceOffline); n != 0 {
		t.Fatalf("bob's connection was forced offline %d times by alice signing in elsewhere", n)
	}

	if r := carol.Request("sendMessage", text("alice", "to alice again", "c2")); r.Code != 0 {
		t.Fatalf("a C2C message to alice, signed in again: code %d (%s)", r.Code, r.Message)
	}
	if d, ok := alice.Event(classroom.EventMessage, 2*time.Second); !ok || d["text"] != "to alice again" {
		t.Fatalf("alice's new connection got %v", d)
	}
	// Delivered on carol's request, before her reply: a copy to conn would
	// be queued before conn's answer below.
	conn.Request("members", nil)
	if n := conn.Count(classroom.EventMessage); n != 0 {
		t.Fatalf("bob's connection got %d messages meant for alice", n)
	}
}

// A connection in a room as dave cannot log in as erin: the room's member
// and the signed-in user would differ. Logging in again as dave (a fresh
// userSig) is fine.
func TestALoginAsAnotherUserInARoomIsRefused(t *testing.T) {
	s := testways.StartClasses(t, t.TempDir(), ws.DefaultLimits, classroom.DefaultLimits)
	conn := s.DialWS(t)
	if r := conn.Join(joinData(testways.OpenApp, "dave", 77)); r.Code != 0 {
		t.Fatalf("join as dave: %d %s", r.Code, r.Message)
	}
	if r := conn.Request("login", ws.LoginData{SDKAppID: testways.OpenApp, UserID: "erin", UserSig: testways.UserSig(testways.OpenApp, "erin", time.Hour)}); r.Code != trtc.CodeParamCheckFailed {
		t.Fatalf("login as erin while in a room as dave: code %d (%s), want %d", r.Code, r.Message, trtc.CodeParamCheckFailed)
	}
	if r := conn.Request("login", ws.LoginData{SDKAppID: testways.OpenApp, UserID: "dave", UserSig: testways.UserSig(testways.OpenApp, "dave", time.Hour)}); r.Code != 0 {
		t.Fatalf("login as dave again in dave's room: %d %s", r.Code, r.Message)
	}
	carol := s.LoggedIn(t, "carol")
	if r := carol.Request("sendMessage", text("erin", "hi", "c1")); r.Code != trtc.CodeIMUnknownReceiver {
		t.Fatalf("erin, refused, is signed in: a C2C message to her got %d", r.Code)
	}
}

// text is a text message to send (to "": to the class).
func text(to, body, clientMsgID string) classroom.SendRequest {
	return classroom.SendRequest{To: to, Type: "text", Text: body, ClientMsgID: clientMsgID}
}
