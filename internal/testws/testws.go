// Package testws is a /ws signalling client for tests: it joins a room and
// collects the events the server pushes.
package testws

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Member is a client in a room.
type Member struct {
	t    testing.TB
	Conn *websocket.Conn
	// Events are the pushed events, each as "event userId reason kind
	// code" with the empty parts left out ("member-quit bob leave").
	Events chan string
	// Joined is the join reply's data (and its code as "code").
	Joined  map[string]any
	replies chan map[string]any
	sendMu  sync.Mutex
	nextID  int
}

// heartbeatEvery keeps a member alive through long tests (the server's
// timeout is 30 s by default).
const heartbeatEvery = 5 * time.Second

// Send writes one request frame.
func (m *Member) Send(frame map[string]any) error {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	return m.Conn.WriteJSON(frame)
}

// firstHeartbeat is the first heartbeat's request id: their replies are
// not a Request's.
const firstHeartbeat = 1 << 20

func (m *Member) heartbeats() {
	for id := firstHeartbeat; ; id++ {
		time.Sleep(heartbeatEvery)
		if m.Send(map[string]any{"id": id, "type": "heartbeat"}) != nil {
			return
		}
	}
}

// Join dials ws://addr/ws and joins room as user; the test fails unless
// the join succeeds.
func Join(t testing.TB, addr string, app uint32, user, userSig string, room uint32) *Member {
	t.Helper()
	m := Dial(t, addr)
	m.Joined = m.Request("join", map[string]any{"sdkAppId": app, "userId": user, "userSig": userSig, "roomId": room})
	if m.Joined["code"] != 0 {
		t.Fatalf("%s's join: %v", user, m.Joined)
	}
	return m
}

// Dial connects to ws://addr/ws.
func Dial(t testing.TB, addr string) *Member {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	m := &Member{t: t, Conn: conn, Events: make(chan string, 1024), replies: make(chan map[string]any, 1)}
	go m.read()
	go m.heartbeats()
	return m
}

// Request sends one request and returns its reply's data, with the reply's
// code as "code"; one request at a time.
func (m *Member) Request(typ string, data any) map[string]any {
	m.t.Helper()
	m.nextID++
	if err := m.Send(map[string]any{"id": m.nextID, "type": typ, "data": data}); err != nil {
		m.t.Fatal(err)
	}
	select {
	case r := <-m.replies:
		return r
	case <-time.After(5 * time.Second):
		m.t.Fatalf("%s got no reply", typ)
		return nil
	}
}

func (m *Member) read() {
	defer close(m.Events)
	for {
		var f struct {
			ID    int             `json:"id"`
			Type  string          `json:"type"`
			Event string          `json:"event"`
			Code  int             `json:"code"`
			Data  json.RawMessage `json:"data"`
		}
		if err := m.Conn.ReadJSON(&f); err != nil {
			return
		}
		switch f.Type {
		case "reply":
			if f.ID >= firstHeartbeat {
				continue
			}
			d := map[string]any{}
			json.Unmarshal(f.Data, &d)
			d["code"] = f.Code
			select {
			case m.replies <- d:
			default:
			}
		case "event":
			var d struct {
				UserID string `json:"userId"`
				Reason string `json:"reason"`
				Kind   string `json:"kind"`
				Code   int    `json:"code"`
				From   string `json:"from"` // a message's
				Seq    uint64 `json:"seq"`
				Text   string `json:"text"`
			}
			json.Unmarshal(f.Data, &d)
			s := fmt.Sprint(f.Event, " ", d.UserID, " ", d.Reason, " ", d.Kind)
			if f.Event == "message" { // "message alice 3 hello" (C2C: seq 0)
				s = fmt.Sprint(f.Event, " ", d.From, " ", d.Seq, " ", d.Text)
			}
			if d.Code != 0 {
				s += fmt.Sprint(" ", d.Code)
			}
			m.Events <- strings.Join(strings.Fields(s), " ")
		}
	}
}

// Expect waits up to within for the next event and checks it. Use it only
// where the server promises the order (one member's own events, or one
// event after a quiet spell); otherwise use ExpectAll.
func (m *Member) Expect(want string, within time.Duration) {
	m.t.Helper()
	select {
	case got, ok := <-m.Events:
		if !ok {
			m.t.Fatalf("the connection ended; want event %q", want)
		}
		if got != want {
			m.t.Fatalf("got event %q, want %q", got, want)
		}
	case <-time.After(within):
		m.t.Fatalf("no event within %s; want %q", within, want)
	}
}

// ExpectAll waits up to within until every event of want has arrived, in
// any order, and fails on any other event. Events that come from different
// tracks, goroutines or nodes are not ordered by anything the server
// promises (a publisher's video may be announced before its audio), so a
// test waits for the set it needs. A duplicate in want must arrive twice.
func (m *Member) ExpectAll(within time.Duration, want ...string) {
	m.t.Helper()
	m.ExpectAllIgnoring(within, nil, want...)
}

// ExpectAllIgnoring is ExpectAll, but events in ignore may also arrive,
// any number of times, and are dropped.
func (m *Member) ExpectAllIgnoring(within time.Duration, ignore []string, want ...string) {
	m.t.Helper()
	missing, unexpected, ended := m.collect(within, ignore, want)
	switch {
	case unexpected != "":
		m.t.Fatalf("got event %q, want the events %q in any order (still missing %q)", unexpected, want, missing)
	case ended:
		m.t.Fatalf("no events %q before the connection ended (of %q, in any order)", missing, want)
	case len(missing) > 0:
		m.t.Fatalf("no events %q within %s (of %q, in any order)", missing, within, want)
	}
}

// collect takes events until all of want have come (missing is then
// empty), one that is neither wanted nor ignored comes (unexpected), the
// connection ends or within passes.
func (m *Member) collect(within time.Duration, ignore, want []string) (missing []string, unexpected string, ended bool) {
	missing = slices.Clone(want)
	timeout := time.After(within)
	for len(missing) > 0 {
		select {
		case got, ok := <-m.Events:
			if !ok {
				return missing, "", true
			}
			if i := slices.Index(missing, got); i >= 0 {
				missing = slices.Delete(missing, i, i+1)
			} else if !slices.Contains(ignore, got) {
				return missing, got, false
			}
		case <-timeout:
			return missing, "", false
		}
	}
	return nil, "", false
}

// Quiet checks that no event arrives for d.
func (m *Member) Quiet(d time.Duration) {
	m.t.Helper()
	select {
	case got, ok := <-m.Events:
		if ok {
			m.t.Fatalf("unexpected event %q", got)
		}
	case <-time.After(d):
	}
}

// Members lists the user ids of the join reply's members, comma-separated.
func (m *Member) Members() string {
	var out []string
	list, _ := m.Joined["members"].([]any)
	for _, x := range list {
		out = append(out, x.(map[string]any)["userId"].(string))
	}
	return strings.Join(out, ",")
}
