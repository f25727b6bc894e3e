package trtc

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// classServer is /ws with classrooms, on a database in dir.
type classServer struct {
	*httptest.Server
	db    *bolt.DB
	store *ClassStore
	cs    *Classrooms
}

func startClassServer(t *testing.T, dir string, limits WSLimits, classLimits ClassLimits) *classServer {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "trtcd.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	store, err := OpenClassStore(db)
	if err != nil {
		t.Fatal(err)
	}
	rooms := NewRegistry(0, 0)
	cs, err := LoadClassrooms(rooms, store, classLimits)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	apps := testApps(t)
	mux.Handle("GET /ws", &WebSocket{Apps: apps, Rooms: rooms, Limits: limits, Classrooms: cs})
	(&RoomAPI{Apps: apps, Rooms: rooms, Classrooms: cs}).Register(mux)
	s := &classServer{Server: httptest.NewServer(mux), db: db, store: store, cs: cs}
	t.Cleanup(s.stop)
	return s
}

var stopOnce sync.Map

func (s *classServer) stop() {
	if _, done := stopOnce.LoadOrStore(s, true); done {
		return
	}
	s.Close()
	s.store.Close()
	s.db.Close()
}

// loggedIn is a client signed in as user.
func loggedIn(t *testing.T, s *classServer, user string) *wsClient {
	t.Helper()
	c := dial(t, &whipServer{Server: s.Server})
	if r := c.request("login", LoginData{SDKAppID: open, UserID: user, UserSig: sigFor(open, user, time.Hour)}); r.Code != 0 {
		t.Fatalf("login %s: %d %s", user, r.Code, r.Message)
	}
	return c
}

func text(to, body, id string) SendRequest {
	return SendRequest{To: to, Type: "text", Text: body, ClientMsgID: id}
}

// The classroom rules, one story each.
func TestClassroomRules(t *testing.T) {
	limits := DefaultClassLimits
	// A burst of 30 and almost no refill: the sends below use a few, and on
	// a loaded machine the default 20/s would refill the bucket as fast as
	// the test can send, so it would never see 10023.
	limits.MessageBurst, limits.MessagesPerSecond = 30, 0.01
	s := startClassServer(t, t.TempDir(), DefaultWSLimits, limits)
	teacher, student, outsider := loggedIn(t, s, "teacher"), loggedIn(t, s, "student"), loggedIn(t, s, "outsider")
	class := ClassData{ClassID: 501}
	steps := []struct {
		name string
		c    *wsClient
		typ  string
		data any
		code Code
	}{
		{"joining a class nobody created gets 10010", student, "joinClassroom", class, CodeIMGroupNotFound},
		{"the teacher creates the class", teacher, "createClassroom", class, 0},
		{"creating it twice gets 10021", teacher, "createClassroom", class, CodeIMGroupExists},
		{"the teacher joins", teacher, "joinClassroom", class, 0},
		{"the student joins", student, "joinClassroom", class, 0},
		{"a group message from someone in no class gets 10007", outsider, "sendMessage", text("", "hi", "o1"), CodeIMNoPermission},
		{"a C2C message to a user who is not signed in gets 20003", student, "sendMessage", text("nobody", "hi", "s1"), CodeIMUnknownReceiver},
		{"a message over 12 KB gets 80002", student, "sendMessage", text("", strings.Repeat("x", 13<<10), "s2"), CodeIMMessageTooLong},
		{"a message without clientMsgId gets 82", student, "sendMessage", text("", "hi", ""), CodeParamCheckFailed},
		{"the student may not destroy the class: 10007", student, "destroyClassroom", class, CodeIMNoPermission},
	}
	for _, st := range steps {
		if r := st.c.request(st.typ, st.data); r.Code != st.code {
			t.Fatalf("%s: code %d (%s), want %d", st.name, r.Code, r.Message, st.code)
		}
	}

	// C2C reaches the receiver; a retried group send is delivered once.
	student.request("sendMessage", SendRequest{To: "teacher", Type: "custom", Data: `{"q":1}`, ClientMsgID: "c2c-1"})
	if d, ok := teacher.event(EventMessage, 2*time.Second); !ok || d["from"] != "student" || d["data"] != `{"q":1}` || d["seq"] != 0.0 {
		t.Fatalf("the teacher got %v", d)
	}
	first := student.request("sendMessage", text("", "hello class", "g-1"))
	retry := student.request("sendMessage", text("", "hello class", "g-1"))
	if first.Code != 0 || fmt.Sprint(first.Data) != fmt.Sprint(retry.Data) {
		t.Fatalf("a retry answered %v, the first send %d %s %v", retry.Data, first.Code, first.Message, first.Data)
	}
	if d, ok := teacher.event(EventMessage, 2*time.Second); !ok || d["text"] != "hello class" || d["seq"] != 1.0 {
		t.Fatalf("the teacher got %v", d)
	}
	if d, ok := teacher.event(EventMessage, 300*time.Millisecond); ok {
		t.Fatalf("the retried message arrived twice: %v", d)
	}
	// The same retry on a new connection (the old one dropped) is still
	// recognised once the student is back in the class.
	student = loggedIn(t, s, "student")
	student.request("joinClassroom", class)
	if again := student.request("sendMessage", text("", "hello class", "g-1")); fmt.Sprint(again.Data) != fmt.Sprint(first.Data) {
		t.Fatalf("a retry after reconnecting answered %v, the first send %v", again.Data, first.Data)
	}
	if d, ok := teacher.event(EventMessage, 300*time.Millisecond); ok {
		t.Fatalf("the retry after reconnecting arrived again: %v", d)
	}

	// Over the rate: a burst of 30, then 10023.
	code := Code(0)
	for i := 0; i < 100 && code == 0; i++ {
		code = student.request("sendMessage", text("", "spam", fmt.Sprintf("spam-%d", i))).Code
	}
	if code != CodeIMRateLimited {
		t.Fatalf("a sender over the rate got %d, want %d", code, CodeIMRateLimited)
	}

	// The creator destroys the class: members are told, the class is gone.
	if r := teacher.request("destroyClassroom", class); r.Code != 0 {
		t.Fatalf("destroy: %d %s", r.Code, r.Message)
	}
	for who, c := range map[string]*wsClient{"student": student, "teacher": teacher} {
		if _, ok := c.event(EventClassroomDestroyed, 2*time.Second); !ok {
			t.Fatalf("the %s was not told the class was destroyed", who)
		}
		if _, ok := c.event(EventForceOffline, 200*time.Millisecond); ok {
			t.Fatalf("the %s was forced offline by the class ending", who)
		}
	}
	// Both stay signed in: C2C still works (the teacher sends it: the
	// student's allowance went on the spam above and barely refills).
	if r := teacher.request("sendMessage", text("student", "thanks!", "after")); r.Code != 0 {
		t.Fatalf("C2C after the class ended: %d %s", r.Code, r.Message)
	}
	if r := loggedIn(t, s, "late").request("joinClassroom", class); r.Code != CodeIMGroupNotFound {
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
	wsLimits := DefaultWSLimits
	wsLimits.MessagesPerSecond, wsLimits.MessageBurst = 1e6, 1e6
	wsLimits.IdleTimeout = 10 * time.Minute // the teacher only listens, for as long as a loaded machine needs
	classLimits := DefaultClassLimits
	classLimits.MessagesPerSecond, classLimits.MessageBurst = 1e6, 1e6
	s := startClassServer(t, t.TempDir(), wsLimits, classLimits)
	teacher := loggedIn(t, s, "teacher")
	teacher.request("createClassroom", ClassData{ClassID: 502})
	members := []*wsClient{teacher}
	teacher.request("joinClassroom", ClassData{ClassID: 502})
	for i := range senders {
		c := loggedIn(t, s, fmt.Sprintf("s%d", i))
		if r := c.request("joinClassroom", ClassData{ClassID: 502}); r.Code != 0 {
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
				if r := c.request("sendMessage", text("", fmt.Sprintf("%d/%d", i, j), fmt.Sprintf("%d", j))); r.Code != 0 {
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
		testWait(t, "every message at a member", 2*time.Minute, func() bool { return c.count(EventMessage) >= senders*each })
		order := c.messageOrder()
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

func testWait(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *wsClient) count(name string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, e := range w.events {
		if e.Event == name {
			n++
		}
	}
	return n
}

// messageOrder lists "seq:text" of the group messages received, checking
// that sequence numbers run 1, 2, 3 … in arrival order.
func (w *wsClient) messageOrder() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, e := range w.events {
		if e.Event != EventMessage {
			continue
		}
		d := e.Data.(map[string]any)
		if int(d["seq"].(float64)) != len(out)+1 {
			w.t.Fatalf("message %d arrived with seq %v", len(out)+1, d["seq"])
		}
		out = append(out, fmt.Sprint(d["seq"], ":", d["text"]))
	}
	return out
}

// A late joiner, even after the server restarted, replays the class's
// history in order.
func TestLateJoinerReplaysHistoryAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s := startClassServer(t, dir, DefaultWSLimits, DefaultClassLimits)
	teacher := loggedIn(t, s, "teacher")
	teacher.request("createClassroom", ClassData{ClassID: 503})
	teacher.request("joinClassroom", ClassData{ClassID: 503})
	for i := range 25 {
		data := fmt.Sprintf(`{"stroke":%d}`, i)
		if r := teacher.request("sendMessage", SendRequest{Type: "custom", Data: data, Ext: BoardExt, ClientMsgID: fmt.Sprint(i)}); r.Code != 0 {
			t.Fatalf("send: %d %s", r.Code, r.Message)
		}
	}
	s.stop()

	s = startClassServer(t, dir, DefaultWSLimits, DefaultClassLimits)
	late := loggedIn(t, s, "late")
	j := late.request("joinClassroom", ClassData{ClassID: 503})
	if j.Code != 0 || j.Data.(map[string]any)["lastSeq"] != 25.0 {
		t.Fatalf("join after the restart: %d %s %v", j.Code, j.Message, j.Data)
	}
	h := late.request("history", HistoryData{AfterSeq: 10, Limit: 100})
	msgs := h.Data.(map[string]any)["messages"].([]any)
	if h.Code != 0 || len(msgs) != 15 {
		t.Fatalf("history after 10: %d %s, %d messages", h.Code, h.Message, len(msgs))
	}
	for i, m := range msgs {
		if d := m.(map[string]any); d["seq"] != float64(11+i) || d["ext"] != BoardExt || d["data"] != fmt.Sprintf(`{"stroke":%d}`, 10+i) {
			t.Fatalf("history message %d: %v", i, d)
		}
	}
}

// The application server runs classes over REST: create, list, members,
// a system message members receive, history, destroy.
func TestClassroomREST(t *testing.T) {
	s := startClassServer(t, t.TempDir(), DefaultWSLimits, DefaultClassLimits)
	ws := &whipServer{Server: s.Server}
	admin := sigFor(open, DefaultAdmin, time.Hour)
	call := func(op, body string, want Code) map[string]any {
		t.Helper()
		got := rest(t, ws, op, DefaultAdmin, admin, body)
		if codeOf(got) != want {
			t.Fatalf("%s %s: %v, want code %d", op, body, got, want)
		}
		return got
	}
	call("create_classroom", `{"classId":601}`, RestInvalidParam) // no creator
	call("create_classroom", `{"classId":601,"creator":"ms-li"}`, 0)
	call("create_classroom", `{"classId":601,"creator":"ms-li"}`, CodeIMGroupExists)
	student := loggedIn(t, s, "tom")
	student.request("joinClassroom", ClassData{ClassID: 601})
	if list := call("list_classrooms", "", 0)["classrooms"].([]any); len(list) != 1 || list[0].(map[string]any)["members"] != 1.0 {
		t.Fatalf("list: %v", list)
	}
	if m := call("classroom_members", `{"classId":601}`, 0)["members"].([]any); len(m) != 1 {
		t.Fatalf("members: %v", m)
	}
	call("send_system_message", `{"classId":601,"text":"class starts in 5 minutes"}`, 0)
	if d, ok := student.event(EventMessage, 2*time.Second); !ok || d["text"] != "class starts in 5 minutes" || d["from"] != DefaultAdmin {
		t.Fatalf("the student got %v", d)
	}
	if h := call("classroom_history", `{"classId":601,"afterSeq":0}`, 0)["messages"].([]any); len(h) != 1 {
		t.Fatalf("history: %v", h)
	}
	call("destroy_classroom", `{"classId":601}`, 0)
	if _, ok := student.event(EventClassroomDestroyed, 2*time.Second); !ok {
		t.Fatal("the student was not told")
	}
	call("classroom_history", `{"classId":601}`, CodeIMGroupNotFound)
}
