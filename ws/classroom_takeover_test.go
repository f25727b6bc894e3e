package ws_test

import (
	"testing"
	"time"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/ws"
)

// A class takes its room's key, and destroying it ends the room. So a user
// may not make a room that others are in into a class of its own: it
// would be the class's creator, and could destroy it to end a call it has
// no part in. A member alone in its room still may (the app's admin
// identifier always may).
func TestNobodyMakesOthersRoomAClassToEndIt(t *testing.T) {
	s := testways.StartClasses(t, t.TempDir(), ws.Limits{}, classroom.Limits{})
	const room = 71
	alice := s.DialWS(t)
	if r := alice.Join(joinData(testways.OpenApp, "alice", room)); r.Code != 0 {
		t.Fatalf("alice: %d %s", r.Code, r.Message)
	}
	for _, who := range []string{"mallory", "alice"} { // an outsider; a member with a second connection
		c := s.LoggedIn(t, who)
		if r := c.Request("createClassroom", ws.ClassData{ClassID: room}); who == "mallory" && r.Code != trtc.CodeIMNoPermission {
			t.Fatalf("%s made alice's room a class: %d %s", who, r.Code, r.Message)
		} else if who == "alice" && r.Code != 0 {
			t.Fatalf("alice, alone in her room, could not make it a class: %d %s", r.Code, r.Message)
		}
	}
	bob := s.DialWS(t)
	if r := bob.Join(joinData(testways.OpenApp, "bob", 72)); r.Code != 0 {
		t.Fatalf("bob: %d %s", r.Code, r.Message)
	}
	mallory := s.LoggedIn(t, "mallory")
	mallory.Request("createClassroom", ws.ClassData{ClassID: 72})
	mallory.Request("destroyClassroom", ws.ClassData{ClassID: 72})
	time.Sleep(300 * time.Millisecond)
	if bob.Count(trtc.EventRoomClosed) > 0 || s.Rooms.Current(testways.OpenApp, "bob") == nil {
		t.Fatalf("an outsider ended bob's call through a class: %v", bob.Events())
	}
}
