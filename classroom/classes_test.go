package classroom_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/internal/testws"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/ws"
)

func text(to, body, id string) classroom.SendRequest {
	return classroom.SendRequest{To: to, Type: "text", Text: body, ClientMsgID: id}
}

// The classroom rules, one story each.
func TestClassroomRules(t *testing.T) {
	limits := classroom.DefaultLimits
	// A burst of 30 and almost no refill: the sends below use a few, and on
	// a loaded machine the default 20/s would refill the bucket as fast as
	// the test can send, so it would never see 10023.
	limits.MessageBurst, limits.MessagesPerSecond = 30, 0.01
	s := testways.StartClasses(t, t.TempDir(), ws.DefaultLimits, limits)
	teacher, student, outsider := s.LoggedIn(t, "teacher"), s.LoggedIn(t, "student"), s.LoggedIn(t, "outsider")
	class := ws.ClassData{ClassID: 501}
	steps := []struct {
		name string
		c    *testws.Client
		typ  string
		data any
		code trtc.Code
	}{
		{"joining a class nobody created gets 10010", student, "joinClassroom", class, trtc.CodeIMGroupNotFound},
		{"the teacher creates the class", teacher, "createClassroom", class, 0},
		{"creating it twice gets 10021", teacher, "createClassroom", class, trtc.CodeIMGroupExists},
		{"the teacher joins", teacher, "joinClassroom", class, 0},
		{"the student joins", student, "joinClassroom", class, 0},
		{"a group message from someone in no class gets 10007", outsider, "sendMessage", text("", "hi", "o1"), trtc.CodeIMNoPermission},
		{"a C2C message to a user who is not signed in gets 20003", student, "sendMessage", text("nobody", "hi", "s1"), trtc.CodeIMUnknownReceiver},
		{"a message over 12 KB gets 80002", student, "sendMessage", text("", strings.Repeat("x", 13<<10), "s2"), trtc.CodeIMMessageTooLong},
		{"5 KB of control characters, 30 KB as JSON, gets 80002", student, "sendMessage", text("", strings.Repeat("\x01", 5<<10), "s3"), trtc.CodeIMMessageTooLong},
		{"a message without clientMsgId gets 82", student, "sendMessage", text("", "hi", ""), trtc.CodeParamCheckFailed},
		{"the student may not destroy the class: 10007", student, "destroyClassroom", class, trtc.CodeIMNoPermission},
	}
	for _, st := range steps {
		if r := st.c.Request(st.typ, st.data); r.Code != st.code {
			t.Fatalf("%s: code %d (%s), want %d", st.name, r.Code, r.Message, st.code)
		}
	}

	// C2C reaches the receiver; a retried group send is delivered once.
	student.Request("sendMessage", classroom.SendRequest{To: "teacher", Type: "custom", Data: `{"q":1}`, ClientMsgID: "c2c-1"})
	if d, ok := teacher.Event(classroom.EventMessage, 2*time.Second); !ok || d["from"] != "student" || d["data"] != `{"q":1}` || d["seq"] != 0.0 {
		t.Fatalf("the teacher got %v", d)
	}
	first := student.Request("sendMessage", text("", "hello class", "g-1"))
	retry := student.Request("sendMessage", text("", "hello class", "g-1"))
	if first.Code != 0 || fmt.Sprint(first.Data) != fmt.Sprint(retry.Data) {
		t.Fatalf("a retry answered %v, the first send %d %s %v", retry.Data, first.Code, first.Message, first.Data)
	}
	if d, ok := teacher.Event(classroom.EventMessage, 2*time.Second); !ok || d["text"] != "hello class" || d["seq"] != 1.0 {
		t.Fatalf("the teacher got %v", d)
	}
	if d, ok := teacher.Event(classroom.EventMessage, 300*time.Millisecond); ok {
		t.Fatalf("the retried message arrived twice: %v", d)
	}
	// The same retry on a new connection (the old one dropped) is still
	// recognised once the student is back in the class.
	student = s.LoggedIn(t, "student")
	student.Request("joinClassroom", class)
	if again := student.Request("sendMessage", text("", "hello class", "g-1")); fmt.Sprint(again.Data) != fmt.Sprint(first.Data) {
		t.Fatalf("a retry after reconnecting answered %v, the first send %v", again.Data, first.Data)
	}
	if d, ok := teacher.Event(classroom.EventMessage, 300*time.Millisecond); ok {
		t.Fatalf("the retry after reconnecting arrived again: %v", d)
	}

	// Over the rate: a burst of 30, then 10023.
	code := trtc.Code(0)
	for i := 0; i < 100 && code == 0; i++ {
		code = student.Request("sendMessage", text("", "spam", fmt.Sprintf("spam-%d", i))).Code
	}
	if code != trtc.CodeIMRateLimited {
		t.Fatalf("a sender over the rate got %d, want %d", code, trtc.CodeIMRateLimited)
	}

	// The creator destroys the class: members are told, the class is gone.
	if r := teacher.Request("destroyClassroom", class); r.Code != 0 {
		t.Fatalf("destroy: %d %s", r.Code, r.Message)
	}
	for who, c := range map[string]*testws.Client{"student": student, "teacher": teacher} {
		if _, ok := c.Event(classroom.EventDestroyed, 2*time.Second); !ok {
			t.Fatalf("the %s was not told the class was destroyed", who)
		}
		if _, ok := c.Event(trtc.EventForceOffline, 200*time.Millisecond); ok {
			t.Fatalf("the %s was forced offline by the class ending", who)
		}
	}
	// Both stay signed in: C2C still works (the teacher sends it: the
	// student's allowance went on the spam above and barely refills).
	if r := teacher.Request("sendMessage", text("student", "thanks!", "after")); r.Code != 0 {
		t.Fatalf("C2C after the class ended: %d %s", r.Code, r.Message)
	}
	if r := s.LoggedIn(t, "late").Request("joinClassroom", class); r.Code != trtc.CodeIMGroupNotFound {
		t.Fatalf("joining a destroyed class: code %d", r.Code)
	}
}

// Ten senders each send 300 group messages at once: every member sees
// the same order, sequence numbers 1 to 3,000 with no gap or repeat. (Not
// more: under the race detector on a busy machine 10,000 took over the
// idle timeout, and the member who only listens was closed as idle.)
func TestGroupMessagesKeepOneOrderUnderConcurrentSenders(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	const senders, each = 10, 300
	wsLimits := ws.DefaultLimits
	wsLimits.MessagesPerSecond, wsLimits.MessageBurst = 1e6, 1e6
	wsLimits.IdleTimeout = 10 * time.Minute // the teacher only listens, for as long as a loaded machine needs
	classLimits := classroom.DefaultLimits
	classLimits.MessagesPerSecond, classLimits.MessageBurst = 1e6, 1e6
	s := testways.StartClasses(t, t.TempDir(), wsLimits, classLimits)
	teacher := s.LoggedIn(t, "teacher")
	teacher.Request("createClassroom", ws.ClassData{ClassID: 502})
	members := []*testws.Client{teacher}
	teacher.Request("joinClassroom", ws.ClassData{ClassID: 502})
	for i := range senders {
		c := s.LoggedIn(t, fmt.Sprintf("s%d", i))
		if r := c.Request("joinClassroom", ws.ClassData{ClassID: 502}); r.Code != 0 {
			t.Fatalf("join: %d %s", r.Code, r.Message)
		}
		members = append(members, c)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range members[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				if r := c.Request("sendMessage", text("", fmt.Sprintf("%d/%d", i, j), fmt.Sprintf("%d", j))); r.Code != 0 {
					t.Errorf("send: %d %s", r.Code, r.Message)
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d group messages to %d members in %s", senders*each, len(members), time.Since(start).Round(time.Millisecond))
	var reference []string
	for i, c := range members {
		testpeer.WaitFor(t, "every message at a member", 2*time.Minute, func() bool { return c.Count(classroom.EventMessage) >= senders*each })
		order := messageOrder(t, c)
		if len(order) != senders*each {
			t.Fatalf("member %d got %d messages", i, len(order))
		}
		if i == 0 {
			reference = order
			continue
		}
		for k := range order {
			if order[k] != reference[k] {
				t.Fatalf("member %d's message %d is %s, the teacher's is %s", i, k, order[k], reference[k])
			}
		}
	}
}

// messageOrder lists "seq:text" of the group messages c received,
// checking that sequence numbers run 1, 2, 3 … in arrival order.
func messageOrder(t *testing.T, c *testws.Client) []string {
	var out []string
	for _, e := range c.Events() {
		if e.Event != classroom.EventMessage {
			continue
		}
		d := e.Data.(map[string]any)
		if int(d["seq"].(float64)) != len(out)+1 {
			t.Fatalf("message %d arrived with seq %v", len(out)+1, d["seq"])
		}
		out = append(out, fmt.Sprint(d["seq"], ":", d["text"]))
	}
	return out
}

// A late joiner, even after the server restarted, replays the class's
// history in order.
func TestLateJoinerReplaysHistoryAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s := testways.StartClasses(t, dir, ws.DefaultLimits, classroom.DefaultLimits)
	teacher := s.LoggedIn(t, "teacher")
	teacher.Request("createClassroom", ws.ClassData{ClassID: 503})
	teacher.Request("joinClassroom", ws.ClassData{ClassID: 503})
	for i := range 25 {
		data := fmt.Sprintf(`{"stroke":%d}`, i)
		if r := teacher.Request("sendMessage", classroom.SendRequest{Type: "custom", Data: data, Ext: classroom.BoardExt, ClientMsgID: fmt.Sprint(i)}); r.Code != 0 {
			t.Fatalf("send: %d %s", r.Code, r.Message)
		}
	}
	s.Stop()

	s = testways.StartClasses(t, dir, ws.DefaultLimits, classroom.DefaultLimits)
	late := s.LoggedIn(t, "late")
	j := late.Request("joinClassroom", ws.ClassData{ClassID: 503})
	if j.Code != 0 || j.Data.(map[string]any)["lastSeq"] != 25.0 {
		t.Fatalf("join after the restart: %d %s %v", j.Code, j.Message, j.Data)
	}
	h := late.Request("history", ws.HistoryData{AfterSeq: 10, Limit: 100})
	msgs := h.Data.(map[string]any)["messages"].([]any)
	if h.Code != 0 || len(msgs) != 15 {
		t.Fatalf("history after 10: %d %s, %d messages", h.Code, h.Message, len(msgs))
	}
	for i, m := range msgs {
		if d := m.(map[string]any); d["seq"] != float64(11+i) || d["ext"] != classroom.BoardExt || d["data"] != fmt.Sprintf(`{"stroke":%d}`, 10+i) {
			t.Fatalf("history message %d: %v", i, d)
		}
	}
}
