package ws_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/ws"
)

// A reader that pages through the history faster than its pace is told to
// wait (10023, with how long), keeps its connection, and reads on once it
// has waited.
func TestHistoryRepliesArePacedPerConnection(t *testing.T) {
	const perSecond = 2000
	s := testways.StartClasses(t, t.TempDir(), ws.Limits{}, classroom.Limits{HistoryBytesPerSecond: perSecond})
	const class = 65
	teacher := s.LoggedIn(t, "teacher")
	for _, req := range []string{"createClassroom", "joinClassroom"} {
		if r := teacher.Request(req, ws.ClassData{ClassID: class}); r.Code != 0 {
			t.Fatalf("%s: %d %s", req, r.Code, r.Message)
		}
	}
	for i := range 10 { // 10 KB: more than the 8 KB a reader may have at once
		text := fmt.Sprint(i, strings.Repeat("x", 1000))
		if r := teacher.Request("sendMessage", map[string]any{"type": "text", "text": text, "clientMsgId": fmt.Sprint(i)}); r.Code != 0 {
			t.Fatalf("sendMessage %d: %d %s", i, r.Code, r.Message)
		}
	}
	history := func() ws.Reply { return teacher.Request("history", ws.HistoryData{AfterSeq: 0}) }
	var page struct{ Messages []map[string]any }
	if r := history(); r.Code != 0 {
		t.Fatalf("the first page: %d %s", r.Code, r.Message)
	} else if replyData(t, r, &page); len(page.Messages) != 10 {
		t.Fatalf("the first page has %d messages, want 10", len(page.Messages))
	}
	r := history()
	_, after, told := strings.Cut(r.Message, "ask again in ")
	wait, err := time.ParseDuration(after)
	if r.Code != trtc.CodeIMRateLimited || !told || err != nil || wait <= 0 || wait > 5*time.Second {
		t.Fatalf("a second 10 KB at once: %d %s, want %d and how long to wait (at %d bytes a second)", r.Code, r.Message, trtc.CodeIMRateLimited, perSecond)
	}
	if r := teacher.Request("sendMessage", map[string]any{"type": "text", "text": "still here", "clientMsgId": "c"}); r.Code != 0 {
		t.Fatalf("the refused reader's connection: %d %s", r.Code, r.Message)
	}
	time.Sleep(wait + 50*time.Millisecond) // as told
	if r := history(); r.Code != 0 {
		t.Fatalf("after waiting: %d %s", r.Code, r.Message)
	}
}
