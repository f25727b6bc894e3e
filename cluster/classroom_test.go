package cluster_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/internal/testredis"
	"github.com/trtcd/trtcd/internal/testws"
	"github.com/trtcd/trtcd/server"
	"github.com/trtcd/trtcd/trtc"
)

// signIn opens a /ws connection on srv signed in as user.
func signIn(t *testing.T, srv *server.Server, user string) *testws.Member {
	t.Helper()
	m := testws.Dial(t, srv.HTTPAddr().String())
	if r := m.Request("login", map[string]any{"sdkAppId": app, "userId": user, "userSig": userSig(user)}); r["code"] != 0 {
		t.Fatalf("login %s: %v", user, r)
	}
	return m
}

// messages collects the next n message events, skipping the others.
func messages(t *testing.T, m *testws.Member, n int) []string {
	t.Helper()
	var out []string
	for deadline := time.After(10 * time.Second); len(out) < n; {
		select {
		case ev := <-m.Events:
			if strings.HasPrefix(ev, "message ") {
				out = append(out, ev)
			}
		case <-deadline:
			t.Fatalf("%d of %d messages arrived: %v", len(out), n, out)
		}
	}
	return out
}

// A class spans the nodes its members are on: a teacher on A and a student
// on B see one class, the same numbered group messages in one order
// (sent from both nodes at once), one history; C2C messages find their
// receiver on the other node; destroying the class on A ends it on B.
func TestAClassroomSpansNodes(t *testing.T) {
	a, b := startTwoNodes(t)
	class := map[string]any{"classId": 7001}

	teacher, student := signIn(t, a, "teacher"), signIn(t, b, "student")
	if r := teacher.Request("createClassroom", class); r["code"] != 0 {
		t.Fatalf("create on A: %v", r)
	}
	if r := student.Request("createClassroom", class); r["code"] != 10021 {
		t.Fatalf("create again on B: %v, want code 10021 (exists)", r)
	}
	if r := teacher.Request("joinClassroom", class); r["code"] != 0 {
		t.Fatalf("teacher joins on A: %v", r)
	}
	if r := student.Request("joinClassroom", class); r["code"] != 0 || r["creator"] != "teacher" {
		t.Fatalf("student joins on B: %v, want the class teacher created on A", r)
	}

	const each = 30 // under the default burst of 40 a sender
	var wg sync.WaitGroup
	for _, sender := range []*testws.Member{teacher, student} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if r := sender.Request("sendMessage", map[string]any{"type": "text", "text": fmt.Sprint("m", i),
					"clientMsgId": fmt.Sprint("id", i)}); r["code"] != 0 {
					t.Errorf("send %d: %v", i, r)
					return
				}
			}
		}()
	}
	wg.Wait()
	seen := messages(t, teacher, 2*each)
	if got := messages(t, student, 2*each); strings.Join(got, "|") != strings.Join(seen, "|") {
		t.Fatalf("the members saw different orders:\nA: %v\nB: %v", seen, got)
	}
	for i, ev := range seen {
		if f := strings.Fields(ev); f[2] != fmt.Sprint(i+1) {
			t.Fatalf("message %d is %q: want seq %d (numbers in delivery order, no gaps)", i, ev, i+1)
		}
	}
	h := student.Request("history", map[string]any{"afterSeq": 50})
	if list, _ := h["messages"].([]any); len(list) != 2*each-50 || h["lastSeq"] != float64(2*each) {
		t.Fatalf("history after 50 on B: %d messages, lastSeq %v; want %d and %d", len(list), h["lastSeq"], 2*each-50, 2*each)
	}

	if r := teacher.Request("sendMessage", map[string]any{"to": "student", "type": "text", "text": "psst", "clientMsgId": "c2c"}); r["code"] != 0 {
		t.Fatalf("C2C from A to B: %v", r)
	}
	if got := messages(t, student, 1)[0]; got != "message teacher 0 psst" {
		t.Fatalf("the student got %q", got)
	}
	if r := teacher.Request("sendMessage", map[string]any{"to": "nobody", "type": "text", "text": "?", "clientMsgId": "c2c-2"}); r["code"] != 20003 {
		t.Fatalf("C2C to a user signed in nowhere: %v, want code 20003", r)
	}

	if r := student.Request("destroyClassroom", class); r["code"] != 10007 {
		t.Fatalf("the student destroys on B: %v, want code 10007 (not the creator)", r)
	}
	if r := teacher.Request("destroyClassroom", class); r["code"] != 0 {
		t.Fatalf("destroy on A: %v", r)
	}
	student.Expect("classroom-destroyed", 5*time.Second)
	student.Expect("room-closed", 5*time.Second)
	if r := student.Request("joinClassroom", class); r["code"] != 10010 {
		t.Fatalf("join the destroyed class on B: %v, want code 10010", r)
	}
}

// Without Redis a cluster's classes cannot be reached: class requests get
// 14010 (cluster_unavailable), and work again once Redis is back.
func TestClassroomsWithoutRedisAreUnavailableUntilItReturns(t *testing.T) {
	redis := testredis.StartServer(t)
	a := startNode(t, redis.URL, "node-a")
	class := map[string]any{"classId": 7002}
	teacher := signIn(t, a, "teacher")
	if r := teacher.Request("createClassroom", class); r["code"] != 0 {
		t.Fatalf("create: %v", r)
	}
	redis.Stop()
	for _, req := range []string{"joinClassroom", "createClassroom", "destroyClassroom"} {
		if r := teacher.Request(req, class); r["code"] != 14010 {
			t.Errorf("%s without Redis: %v, want code 14010", req, r)
		}
	}
	redis.Start() // empty: the class is gone with the data
	testpeer.WaitFor(t, "a class to be created once Redis is back", 5*time.Second, func() bool {
		r := teacher.Request("createClassroom", class)
		if r["code"] != 0 && r["code"] != 14010 {
			t.Fatalf("create after Redis came back: %v", r)
		}
		return r["code"] == 0
	})
	if r := teacher.Request("joinClassroom", class); r["code"] != 0 {
		t.Fatalf("join after Redis came back: %v", r)
	}
}

// A client that reconnects to another node (a load balancer) and retries
// a group message gets the first send's number; nobody gets it twice.
func TestAGroupMessageRetriedOnAnotherNodeIsSentOnce(t *testing.T) {
	a, b := startTwoNodes(t)
	class := map[string]any{"classId": 7003}
	send := func(m *testws.Member, text, id string) map[string]any {
		return m.Request("sendMessage", map[string]any{"type": "text", "text": text, "clientMsgId": id})
	}
	teacher, student := signIn(t, a, "teacher"), signIn(t, b, "student")
	teacher.Request("createClassroom", class)
	for _, m := range []*testws.Member{teacher, student} {
		if r := m.Request("joinClassroom", class); r["code"] != 0 {
			t.Fatalf("join: %v", r)
		}
	}
	if r := send(teacher, "hello", "m1"); r["seq"] != float64(1) {
		t.Fatalf("first send: %v", r)
	}
	// The teacher's link to A drops; she comes back through B and retries.
	again := signIn(t, b, "teacher")
	if r := again.Request("joinClassroom", class); r["code"] != 0 {
		t.Fatalf("the teacher joins again on B: %v", r)
	}
	if r := send(again, "hello", "m1"); r["code"] != 0 || r["seq"] != float64(1) {
		t.Fatalf("the retry on B: %v, want the first send's seq 1", r)
	}
	if r := send(again, "next", "m2"); r["seq"] != float64(2) {
		t.Fatalf("the next send: %v, want seq 2", r)
	}
	if got := messages(t, student, 2); got[0] != "message teacher 1 hello" || got[1] != "message teacher 2 next" {
		t.Fatalf("the student got %v, want hello once and then next", got)
	}
}

// A user signed in (not in a room) on A who signs in again on B: the
// session on A ends with force-offline, and C2C messages go to B.
func TestASignInOnAnotherNodeEndsTheOlderOne(t *testing.T) {
	a, b := startTwoNodes(t)
	first := signIn(t, a, "solo")
	second := signIn(t, b, "solo")
	first.Expect(fmt.Sprintf("force-offline %d", trtc.CodeForceOffline), 5*time.Second)
	second.Quiet(500 * time.Millisecond)
	sender := signIn(t, a, "friend")
	if r := sender.Request("sendMessage", map[string]any{"to": "solo", "type": "text", "text": "hi", "clientMsgId": "c1"}); r["code"] != 0 {
		t.Fatalf("C2C to solo: %v", r)
	}
	if got := messages(t, second, 1)[0]; got != "message friend 0 hi" {
		t.Fatalf("solo on B got %q", got)
	}
}
