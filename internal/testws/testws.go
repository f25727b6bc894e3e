// Package testws is a /ws signalling client for tests: it joins a room and
// collects the events the server pushes.
package testws

import (
	"encoding/json"
	"fmt"
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
	Joined map[string]any
	sendMu sync.Mutex
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

func (m *Member) heartbeats() {
	for id := 1000; ; id++ {
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
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	m := &Member{t: t, Conn: conn, Events: make(chan string, 100)}
	if err := m.Send(map[string]any{"id": 1, "type": "join", "data": map[string]any{
		"sdkAppId": app, "userId": user, "userSig": userSig, "roomId": room}}); err != nil {
		t.Fatal(err)
	}
	replies := make(chan map[string]any, 1)
	go m.read(replies)
	select {
	case m.Joined = <-replies:
		if m.Joined["code"] != 0 {
			t.Fatalf("%s's join: %v", user, m.Joined)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s's join got no reply", user)
	}
	go m.heartbeats()
	return m
}

func (m *Member) read(replies chan<- map[string]any) {
	defer close(m.Events)
	for {
		var f struct {
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
			d := map[string]any{}
			json.Unmarshal(f.Data, &d)
			d["code"] = f.Code
			select {
			case replies <- d:
			default:
			}
		case "event":
			var d struct {
				UserID string `json:"userId"`
				Reason string `json:"reason"`
				Kind   string `json:"kind"`
				Code   int    `json:"code"`
			}
			json.Unmarshal(f.Data, &d)
			s := fmt.Sprint(f.Event, " ", d.UserID, " ", d.Reason, " ", d.Kind)
			if d.Code != 0 {
				s += fmt.Sprint(" ", d.Code)
			}
			m.Events <- strings.Join(strings.Fields(s), " ")
		}
	}
}

// Expect waits up to within for the next event and checks it.
func (m *Member) Expect(want string, within time.Duration) {
	m.t.Helper()
	select {
	case got := <-m.Events:
		if got != want {
			m.t.Fatalf("got event %q, want %q", got, want)
		}
	case <-time.After(within):
		m.t.Fatalf("no event within %s; want %q", within, want)
	}
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
