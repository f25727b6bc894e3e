package classroom_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/internal/testws"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
	"github.com/trtcd/trtcd/ws"
)

// frameClient is a /ws client that sees the frames as bytes, to measure
// what a user receives.
type frameClient struct {
	t      *testing.T
	c      *websocket.Conn
	id     int64
	events [][]byte // the event frames read while waiting for replies
}

func dialFrames(t *testing.T, s *testways.Ways) *frameClient {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(testws.URL(s.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &frameClient{t: t, c: c}
}

// Request sends a request and returns its reply frame, decoded and as
// bytes; the events before it are kept for event. It writes JSON as browsers do
// (JSON.stringify leaves "<" as it is).
func (f *frameClient) Request(typ string, data any) (ws.Reply, []byte) {
	f.t.Helper()
	f.id++
	frame := classroom.MarshalUnescaped(ws.Request{ID: f.id, Type: typ, Data: classroom.MarshalUnescaped(data)})
	if err := f.c.WriteMessage(websocket.TextMessage, frame); err != nil {
		f.t.Fatal(err)
	}
	for {
		b := f.next()
		var r ws.Reply
		if json.Unmarshal(b, &r) == nil && r.Type == "reply" && r.ID == f.id {
			return r, b
		}
		if r.Type == "event" {
			f.events = append(f.events, b)
		}
	}
}

// next is the next frame (15 s keep a broken server from hanging the test).
func (f *frameClient) next() []byte {
	f.t.Helper()
	f.c.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, b, err := f.c.ReadMessage()
	if err != nil {
		f.t.Fatalf("reading a frame: %v", err)
	}
	return b
}

// Event is the first event frame called name not taken yet, as bytes.
func (f *frameClient) Event(name string) []byte {
	f.t.Helper()
	for {
		if len(f.events) == 0 {
			f.events = append(f.events, f.next())
		}
		b := f.events[0]
		f.events = f.events[1:]
		var e ws.EventFrame
		if json.Unmarshal(b, &e) == nil && e.Event == name {
			return b
		}
	}
}

func (f *frameClient) must(typ string, data any) ws.Reply {
	f.t.Helper()
	r, _ := f.Request(typ, data)
	if r.Code != 0 {
		f.t.Fatalf("%s: %d %s", typ, r.Code, r.Message)
	}
	return r
}

// unlimitedSenders lets a test send as fast as it likes.
func unlimitedSenders() (ws.Limits, classroom.Limits) {
	ws, class := ws.DefaultLimits, classroom.DefaultLimits
	ws.MessagesPerSecond, ws.MessageBurst = 1e6, 1e6
	class.MessagesPerSecond, class.MessageBurst = 1e6, 1e6
	return ws, class
}

// historyPage is a history reply as a client reads it.
type historyPage struct {
	Messages []classroom.Message `json:"messages"`
	LastSeq  uint64              `json:"lastSeq"`
	More     bool                `json:"more"`
}

func decodePage(t *testing.T, r ws.Reply) historyPage {
	t.Helper()
	var p historyPage
	b, _ := json.Marshal(r.Data)
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// A class's history of 12 KB messages comes in replies no bigger than
// HistoryReplyBytes, each of whole messages with more: true until the
// last, and a client paging with afterSeq gets every message once, in
// order, intact.
func TestClassHistoryRepliesFitTheByteCapAndPageThroughEverything(t *testing.T) {
	const sent, replyCap = 40, 64 << 10
	wsLimits, limits := unlimitedSenders()
	limits.HistoryReplyBytes = replyCap
	s := testways.StartClasses(t, t.TempDir(), wsLimits, limits)
	teacher := dialFrames(t, s)
	teacher.must("login", ws.LoginData{SDKAppID: testways.OpenApp, UserID: "teacher", UserSig: testways.UserSig(testways.OpenApp, "teacher", time.Hour)})
	teacher.must("createClassroom", ws.ClassData{ClassID: 701})
	teacher.must("joinClassroom", ws.ClassData{ClassID: 701})
	body := func(i int) string { return fmt.Sprintf("%04d", i) + strings.Repeat("x", 12<<10-4) }
	for i := 1; i <= sent; i++ {
		teacher.must("sendMessage", text("", body(i), fmt.Sprint(i)))
	}

	var got []classroom.Message
	pages := 0
	for more := true; more; pages++ {
		after := uint64(len(got))
		r, frame := teacher.Request("history", ws.HistoryData{AfterSeq: after, Limit: 1000})
		page := decodePage(t, r)
		if r.Code != 0 || len(frame) > replyCap || len(page.Messages) == 0 {
			t.Fatalf("history after %d: code %d, %d bytes (cap %d), %d messages", after, r.Code, len(frame), replyCap, len(page.Messages))
		}
		got, more = append(got, page.Messages...), page.More
	}
	if len(got) != sent || pages < sent*12<<10/replyCap {
		t.Fatalf("paged %d of %d messages in %d pages", len(got), sent, pages)
	}
	for i, m := range got {
		if m.Seq != uint64(i+1) || m.Text != body(i+1) {
			t.Fatalf("message %d: seq %d, %d bytes of text starting %.4q", i+1, m.Seq, len(m.Text), m.Text)
		}
	}
}

// A page always holds a message, even one bigger than the cap, so a
// client paging on is never stuck.
func TestClassHistoryPageTakesAMessageBiggerThanTheCap(t *testing.T) {
	wsLimits, limits := unlimitedSenders()
	limits.HistoryReplyBytes = 2 << 10
	s := testways.StartClasses(t, t.TempDir(), wsLimits, limits)
	teacher := s.LoggedIn(t, "teacher")
	teacher.Request("createClassroom", ws.ClassData{ClassID: 702})
	teacher.Request("joinClassroom", ws.ClassData{ClassID: 702})
	for i := range 3 {
		teacher.Request("sendMessage", text("", strings.Repeat("y", 4<<10), fmt.Sprint(i)))
	}
	for after := range 3 {
		p := decodePage(t, teacher.Request("history", ws.HistoryData{AfterSeq: uint64(after)}))
		if len(p.Messages) != 1 || p.Messages[0].Seq != uint64(after+1) || p.More != (after < 2) {
			t.Fatalf("history after %d: %d messages (first seq %v), more %v", after, len(p.Messages), p.Messages, p.More)
		}
	}
}

// A 12 KB message of "<" is stored as about 12 KB, not escaped to six
// bytes a character.
func TestClassMessageOfAngleBracketsIsStoredUnescaped(t *testing.T) {
	s := testways.StartClasses(t, t.TempDir(), ws.DefaultLimits, classroom.DefaultLimits)
	teacher := dialFrames(t, s)
	teacher.must("login", ws.LoginData{SDKAppID: testways.OpenApp, UserID: "teacher", UserSig: testways.UserSig(testways.OpenApp, "teacher", time.Hour)})
	teacher.must("createClassroom", ws.ClassData{ClassID: 703})
	teacher.must("joinClassroom", ws.ClassData{ClassID: 703})
	angles := strings.Repeat("<", 12<<10)
	teacher.must("sendMessage", text("", angles, "a"))
	stored := classroom.StoredMessage(s.Classes.DB, trtc.RoomKey(testways.OpenApp, tlssig.Room{ID: 703}), 1)
	var m classroom.Message
	if err := json.Unmarshal(stored, &m); err != nil || m.Text != angles || len(stored) > len(angles)+300 {
		t.Fatalf("stored %d bytes for a message of %d (%v)", len(stored), len(angles), err)
	}
}

// On the wire too: the members' event and the history reply of a 12 KB
// message of "<" are about 12 KB.
func TestClassMessageOfAngleBracketsIsSentUnescaped(t *testing.T) {
	s := testways.StartClasses(t, t.TempDir(), ws.DefaultLimits, classroom.DefaultLimits)
	teacher := dialFrames(t, s)
	teacher.must("login", ws.LoginData{SDKAppID: testways.OpenApp, UserID: "teacher", UserSig: testways.UserSig(testways.OpenApp, "teacher", time.Hour)})
	teacher.must("createClassroom", ws.ClassData{ClassID: 704})
	teacher.must("joinClassroom", ws.ClassData{ClassID: 704})
	angles := strings.Repeat("<", 12<<10)
	teacher.must("sendMessage", text("", angles, "a"))
	event := teacher.Event(classroom.EventMessage)
	_, history := teacher.Request("history", ws.HistoryData{})
	for what, frame := range map[string][]byte{"the message event": event, "the history reply": history} {
		if len(frame) > len(angles)+500 || !strings.Contains(string(frame), angles) {
			t.Errorf("%s is %d bytes for a message of %d", what, len(frame), len(angles))
		}
	}
}

// A user may have ClassesPerUser classes it created: one more gets 10037,
// also after a restart, until it destroys one. Others, admins and the
// application server's REST API are not bound by its count.
func TestClassesPerUserAreCapped(t *testing.T) {
	dir := t.TempDir()
	limits := classroom.DefaultLimits
	limits.ClassesPerUser = 3
	s := testways.StartClasses(t, dir, ws.DefaultLimits, limits)
	teacher := s.LoggedIn(t, "teacher")
	create := func(c *testws.Client, id uint32, want trtc.Code) {
		t.Helper()
		if r := c.Request("createClassroom", ws.ClassData{ClassID: id}); r.Code != want {
			t.Fatalf("create %d: %d %s, want %d", id, r.Code, r.Message, want)
		}
	}
	for id := uint32(801); id <= 803; id++ {
		create(teacher, id, 0)
	}
	create(teacher, 804, trtc.CodeIMTooManyGroups)
	create(teacher, 801, trtc.CodeIMGroupExists) // an existing class is still told so
	create(s.LoggedIn(t, "other"), 805, 0)
	create(s.LoggedIn(t, trtc.DefaultAdmin), 806, 0)
	if r := testways.REST(t, s.URL, "create_classroom", trtc.DefaultAdmin, testways.UserSig(testways.OpenApp, trtc.DefaultAdmin, time.Hour), `{"classId":807,"creator":"teacher"}`); testways.RESTCode(r) != 0 {
		t.Fatalf("REST create for teacher: %v", r)
	}

	s.Stop()
	s = testways.StartClasses(t, dir, ws.DefaultLimits, limits)
	teacher = s.LoggedIn(t, "teacher")
	create(teacher, 804, trtc.CodeIMTooManyGroups) // the count survives a restart
	if r := teacher.Request("destroyClassroom", ws.ClassData{ClassID: 802}); r.Code != 0 {
		t.Fatalf("destroy: %d %s", r.Code, r.Message)
	}
	create(teacher, 804, 0)
	create(teacher, 808, trtc.CodeIMTooManyGroups)
}

// The retry cache keeps RetryCacheEntries sends, however many are sent: a
// retry of a recent one is answered with its first number and not sent
// again; the oldest are forgotten.
func TestMessageRetryCacheIsBounded(t *testing.T) {
	const bound, sent = 20, 60
	wsLimits, limits := unlimitedSenders()
	limits.RetryCacheEntries = bound
	s := testways.StartClasses(t, t.TempDir(), wsLimits, limits)
	cs := s.Classes
	teacher := s.LoggedIn(t, "teacher")
	teacher.Request("createClassroom", ws.ClassData{ClassID: 901})
	teacher.Request("joinClassroom", ws.ClassData{ClassID: 901})
	for i := 1; i <= sent; i++ {
		if r := teacher.Request("sendMessage", text("", "m", fmt.Sprint(i))); r.Code != 0 {
			t.Fatalf("send %d: %d %s", i, r.Code, r.Message)
		}
		if n := cs.RetryCacheSize(); n > bound {
			t.Fatalf("after %d sends the cache holds %d, over its bound %d", i, n, bound)
		}
	}
	if r := teacher.Request("sendMessage", text("", "m", fmt.Sprint(sent))); r.Data.(map[string]any)["seq"] != float64(sent) {
		t.Fatalf("a retry of the last send: %v, want its first number %d", r.Data, sent)
	}
	if r := teacher.Request("sendMessage", text("", "new", "new")); r.Data.(map[string]any)["seq"] != float64(sent+1) {
		t.Fatalf("the send after the retry: %v, want %d (the retry was numbered)", r.Data, sent+1)
	}
	if cs.RemembersSend(testways.OpenApp, "teacher", "1") {
		t.Fatal("the oldest send is still remembered past the bound")
	}
}
