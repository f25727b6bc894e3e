package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

// wsCall sends one request on a fresh-enough /ws connection and returns the
// reply, skipping events.
func wsCall(t *testing.T, c *websocket.Conn, id int, typ string, data any) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(data)
	if err := c.WriteJSON(map[string]any{"id": id, "type": typ, "data": json.RawMessage(raw)}); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var f map[string]any
		if err := c.ReadJSON(&f); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if f["type"] == "reply" && f["id"] == float64(id) {
			if f["code"] != 0.0 {
				t.Fatalf("%s: code %v %v", typ, f["code"], f["message"])
			}
			return f
		}
	}
}

func wsLogin(t *testing.T, addr string, app uint32, key, user string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	wsCall(t, c, 1, "login", map[string]any{"sdkAppId": app, "userId": user, "userSig": tlssig.GenUserSig(key, app, user, time.Hour, time.Now())})
	return c
}

// A classroom's board history survives kill -9: after the restart a late
// joiner gets every message that was acknowledged before the kill.
func TestClassHistorySurvivesKill9(t *testing.T) {
	const app, key = 1400000001, "class-kill9-key"
	dir := t.TempDir()
	args := []string{"--data", filepath.Join(dir, "data"), "--app", fmt.Sprintf("%d:%s", app, key)}
	first := startServe(t, args...)
	teacher := wsLogin(t, first.addr, app, key, "teacher")
	wsCall(t, teacher, 2, "createClassroom", map[string]any{"classId": 900})
	wsCall(t, teacher, 3, "joinClassroom", map[string]any{"classId": 900})
	const sent = 30 // within /ws's default burst of 40 frames
	for i := range sent {
		wsCall(t, teacher, 10+i, "sendMessage", map[string]any{"type": "custom", "ext": "TXWhiteBoardExt",
			"data": fmt.Sprintf(`{"stroke":%d}`, i), "clientMsgId": fmt.Sprint(i)})
	}
	first.cmd.Process.Kill() // kill -9 right after the last acknowledged message
	first.cmd.Wait()

	second := startServe(t, args...)
	late := wsLogin(t, second.addr, app, key, "late")
	j := wsCall(t, late, 2, "joinClassroom", map[string]any{"classId": 900})
	if last := j["data"].(map[string]any)["lastSeq"]; last != float64(sent) {
		t.Fatalf("after kill -9 the class's last seq is %v, want %d", last, sent)
	}
	h := wsCall(t, late, 3, "history", map[string]any{"afterSeq": 0, "limit": 1000})
	msgs := h["data"].(map[string]any)["messages"].([]any)
	if len(msgs) != sent {
		t.Fatalf("%d messages replayed, want %d", len(msgs), sent)
	}
	for i, m := range msgs {
		if d := m.(map[string]any); d["data"] != fmt.Sprintf(`{"stroke":%d}`, i) || d["from"] != "teacher" {
			t.Fatalf("message %d: %v", i, d)
		}
	}
}
