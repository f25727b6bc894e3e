package classroom

import (
	"strings"
	"testing"

	"github.com/trtcd/trtcd/trtc"
)

// The size limit counts what members are sent: JSON, where a control
// character takes 6 bytes; whiteboard data, JSON itself with its quotes
// escaped, still passes at 12 KB.
func TestTheSizeLimitCountsJSONEscapes(t *testing.T) {
	cs, member := fuzzClass(t)
	for _, c := range []struct {
		name string
		req  SendRequest
		code trtc.Code
	}{
		{"12 KB of whiteboard strokes", SendRequest{Type: "custom", Data: strings.Repeat(`{"s":"\\"}`, 1200), Ext: "TXWhiteBoardExt", ClientMsgID: "w"}, trtc.CodeOK},
		{"12 KB of control characters", SendRequest{Type: "text", Text: strings.Repeat("\x01", 12<<10), ClientMsgID: "c"}, trtc.CodeIMMessageTooLong},
		{"12 KB of Chinese text", SendRequest{Type: "text", Text: strings.Repeat("课", 4<<10), ClientMsgID: "z"}, trtc.CodeOK},
	} {
		code, msg := trtc.CodeOK, ""
		if _, e := cs.Send(testApp, "alice", member, c.req); e != nil {
			code, msg = e.Code, e.Message
		}
		if code != c.code {
			t.Errorf("%s: code %d (%s), want %d", c.name, code, msg, c.code)
		}
	}
}
