package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/testws"
	"github.com/trtcd/trtcd/server"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
	"github.com/trtcd/trtcd/ws"
)

// startClassNode is startNode with classroom limits, and senders as fast
// as a test likes.
func startClassNode(t *testing.T, redisURL, id string, limits classroom.Limits) *server.Server {
	limits.MessagesPerSecond, limits.MessageBurst = 1e6, 1e6
	return startNodeWith(t, redisURL, id, func(c *server.Config) {
		c.WSLimits = ws.DefaultLimits
		c.WSLimits.MessagesPerSecond, c.WSLimits.MessageBurst = 1e6, 1e6
		c.WSLimits.MaxMessageBytes = 128 << 10 // Go's encoder sends "<" as six bytes, browsers as one
		c.ClassLimits = limits
	})
}

func mustRequest(t *testing.T, m *testws.Member, typ string, data any) map[string]any {
	t.Helper()
	r := m.Request(typ, data)
	if r["code"] != 0 {
		t.Fatalf("%s: %v", typ, r)
	}
	return r
}

// ClassesPerUser counts a user's classes on every node: past it, 10037 on
// either node until the user destroys one, on either node.
func TestClassesPerUserAreCappedAcrossNodes(t *testing.T) {
	redisURL := cluster.StartRedis(t)
	limits := classroom.Limits{ClassesPerUser: 3}
	a, b := startClassNode(t, redisURL, "node-a", limits), startClassNode(t, redisURL, "node-b", limits)
	class := func(id int) map[string]any { return map[string]any{"classId": id} }

	onA := signIn(t, a, "teacher")
	mustRequest(t, onA, "createClassroom", class(7101))
	mustRequest(t, onA, "createClassroom", class(7102))
	onB := signIn(t, b, "teacher") // the session on A ends
	mustRequest(t, onB, "createClassroom", class(7103))
	if r := onB.Request("createClassroom", class(7104)); r["code"] != 10037 {
		t.Fatalf("a fourth class on B: %v, want code 10037", r)
	}
	mustRequest(t, signIn(t, a, "colleague"), "createClassroom", class(7105)) // others are not bound by it
	mustRequest(t, onB, "destroyClassroom", class(7101))
	onA = signIn(t, a, "teacher")
	mustRequest(t, onA, "createClassroom", class(7104))
	if r := onA.Request("createClassroom", class(7106)); r["code"] != 10037 {
		t.Fatalf("a fourth class on A: %v, want code 10037", r)
	}
}

// A class's Redis history comes in pages of HistoryReplyBytes: a member on
// another node pages through 40 messages of 12 KB, a few at a time, and
// gets each once, in order. Messages are kept in Redis unescaped.
func TestClassHistoryPagesInBytesAcrossNodes(t *testing.T) {
	const sent, replyCap = 40, 64 << 10
	redisURL := cluster.StartRedis(t)
	limits := classroom.Limits{HistoryReplyBytes: replyCap}
	a, b := startClassNode(t, redisURL, "node-a", limits), startClassNode(t, redisURL, "node-b", limits)
	class := map[string]any{"classId": 7201}
	teacher, student := signIn(t, a, "teacher"), signIn(t, b, "student")
	mustRequest(t, teacher, "createClassroom", class)
	mustRequest(t, teacher, "joinClassroom", class)
	mustRequest(t, student, "joinClassroom", class)
	body := func(i int) string { return fmt.Sprintf("%04d", i) + strings.Repeat("x", 12<<10-4) }
	for i := 1; i <= sent; i++ {
		mustRequest(t, teacher, "sendMessage", map[string]any{"type": "text", "text": body(i), "clientMsgId": fmt.Sprint(i)})
	}

	var got []string
	for more := true; more; {
		page := mustRequest(t, student, "history", map[string]any{"afterSeq": len(got)})
		list, _ := page["messages"].([]any)
		if len(list) == 0 || len(list) > replyCap/(12<<10) {
			t.Fatalf("a page after %d of %d bytes holds %d messages of 12 KB", len(got), replyCap, len(list))
		}
		for _, m := range list {
			msg := m.(map[string]any)
			if msg["seq"] != float64(len(got)+1) || msg["text"] != body(len(got)+1) {
				t.Fatalf("message %d: seq %v, text %.4q", len(got)+1, msg["seq"], msg["text"])
			}
			got = append(got, msg["text"].(string))
		}
		more, _ = page["more"].(bool)
	}
	if len(got) != sent {
		t.Fatalf("paged through %d of %d messages", len(got), sent)
	}

	angles := strings.Repeat("<", 12<<10)
	mustRequest(t, teacher, "sendMessage", map[string]any{"type": "text", "text": angles, "clientMsgId": "angles"})
	stored := storedMessage(t, redisURL, trtc.RoomKey(app, tlssig.Room{ID: 7201}), sent+1)
	var m classroom.Message
	if err := json.Unmarshal(stored, &m); err != nil || m.Text != angles || len(stored) > len(angles)+300 {
		t.Fatalf("Redis keeps %d bytes for a message of %d (%v)", len(stored), len(angles), err)
	}
}

// storedMessage is message seq of class as the directory keeps it.
func storedMessage(t *testing.T, redisURL, class string, seq int) []byte {
	t.Helper()
	d, err := cluster.NewDirectory(redisURL, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	msgs, _, err := d.History(context.Background(), class, uint64(seq-1), 1, 1<<20)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("reading message %d of %s: %d messages, %v", seq, class, len(msgs), err)
	}
	return msgs[0]
}
