package ws_test

import (
	"testing"
	"time"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/internal/testffmpeg"
	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/internal/testws"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/ws"
)

// A mini program's mute button: its /ws connection follows the room, and
// its `mute` applies to its member, the RTMP pusher with the same userId.
// Before the pusher is in, there is nobody to mute (14004).
func TestAFollowerMutesItsRTMPPusher(t *testing.T) {
	testffmpeg.Require(t, "ffmpeg")
	s := testways.Start(t, 0, nil)
	const room = 63
	follower := s.DialWS(t)
	if r := follower.Request("follow", followData(testways.OpenApp, "alice", room)); r.Code != 0 {
		t.Fatalf("follow: %d %s", r.Code, r.Message)
	}
	if r := follower.Request("mute", map[string]bool{"audioMuted": true}); r.Code != trtc.CodeUserLeft {
		t.Fatalf("a mute before the pusher is in: %d %s, want %d", r.Code, r.Message, trtc.CodeUserLeft)
	}
	bob := s.DialWS(t)
	if j := bob.Join(joinData(testways.OpenApp, "bob", room)); j.Code != 0 {
		t.Fatalf("bob's join: %d %s", j.Code, j.Message)
	}
	_, output := pushRTMP(t, s, room, "alice")
	if !hasEvent(bob, trtc.EventMemberJoin, "alice", "", 15*time.Second) {
		t.Fatalf("alice's pusher did not enter: %s", output())
	}
	if r := follower.Request("mute", map[string]bool{"audioMuted": true}); r.Code != 0 {
		t.Fatalf("the follower's mute: %d %s", r.Code, r.Message)
	}
	if !hasEvent(bob, trtc.EventMute, "alice", "", 5*time.Second) {
		t.Fatalf("bob did not hear alice mute: %v", bob.Events())
	}
	for _, m := range bob.Request("members", nil).Data.([]any) {
		if info := m.(map[string]any); info["userId"] == "alice" && info["audioMuted"] != true {
			t.Fatalf("alice's member info after the mute: %v", info)
		}
	}
}

// A mini-program student whose member is its RTMP pusher joins the class
// with `follow`: it is not a second member (nobody is forced offline), it
// hears the class's messages, sends group messages and reads the history
// as the class's members do, and hears the class end.
func TestAClassFollowerTalksInTheClassOfItsPusher(t *testing.T) {
	testffmpeg.Require(t, "ffmpeg")
	s := testways.StartClasses(t, t.TempDir(), ws.Limits{}, classroom.Limits{})
	const class = 64
	teacher := s.LoggedIn(t, "teacher")
	if r := teacher.Request("createClassroom", ws.ClassData{ClassID: class}); r.Code != 0 {
		t.Fatalf("createClassroom: %d %s", r.Code, r.Message)
	}
	if r := teacher.Request("joinClassroom", ws.ClassData{ClassID: class}); r.Code != 0 {
		t.Fatalf("the teacher's joinClassroom: %d %s", r.Code, r.Message)
	}
	send(t, teacher, "before alice came")

	alice := s.LoggedIn(t, "alice")
	r := alice.Request("joinClassroom", map[string]any{"classId": class, "follow": true})
	var info struct {
		Creator string
		LastSeq uint64
		Members []trtc.MemberInfo
	}
	replyData(t, r, &info)
	if r.Code != 0 || info.Creator != "teacher" || info.LastSeq != 1 || len(info.Members) != 1 || info.Members[0].UserID != "teacher" {
		t.Fatalf("joinClassroom with follow: %d %s %+v", r.Code, r.Message, r.Data)
	}
	_, output := pushRTMP(t, s, class, "alice")
	if !hasEvent(teacher, trtc.EventMemberJoin, "alice", "", 15*time.Second) {
		t.Fatalf("alice's pusher did not enter the class's room: %s", output())
	}

	send(t, teacher, "welcome")
	if r := alice.Request("sendMessage", map[string]any{"type": "text", "text": "hello", "clientMsgId": "a1"}); r.Code != 0 {
		t.Fatalf("alice's group message: %d %s", r.Code, r.Message)
	}
	if !heardText(teacher, "alice", "hello", 5*time.Second) || !heardText(alice, "teacher", "welcome", 5*time.Second) {
		t.Fatalf("the class's messages: teacher heard %v, alice %v", teacher.Events(), alice.Events())
	}
	h := alice.Request("history", ws.HistoryData{AfterSeq: 0})
	var page struct{ Messages []map[string]any }
	replyData(t, h, &page)
	if h.Code != 0 || len(page.Messages) != 3 {
		t.Fatalf("alice's history: %d %s, %d messages, want 3", h.Code, h.Message, len(page.Messages))
	}
	if alice.Count(trtc.EventForceOffline) != 0 || s.Rooms.Current(testways.OpenApp, "alice") == nil {
		t.Fatal("following the class forced alice's pusher or her /ws offline")
	}

	if r := teacher.Request("destroyClassroom", ws.ClassData{ClassID: class}); r.Code != 0 {
		t.Fatalf("destroyClassroom: %d %s", r.Code, r.Message)
	}
	for deadline := time.Now().Add(5 * time.Second); alice.Count(classroom.EventDestroyed) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("alice did not hear the class end: %v", alice.Events())
		}
	}
}

func send(t *testing.T, c *testws.Client, text string) {
	t.Helper()
	if r := c.Request("sendMessage", map[string]any{"type": "text", "text": text, "clientMsgId": text}); r.Code != 0 {
		t.Fatalf("sendMessage %q: %d %s", text, r.Code, r.Message)
	}
}

func heardText(c *testws.Client, from, text string, within time.Duration) bool {
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, e := range c.Events() {
			if d, _ := e.Data.(map[string]any); e.Event == classroom.EventMessage && d["from"] == from && d["text"] == text {
				return true
			}
		}
	}
	return false
}
