package classroom

import (
	"encoding/json"
	"testing"

	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// FuzzClassroomMessage: the data of any sendMessage frame is decoded and
// checked, and a valid message is delivered and stored, or refused with a
// code; never a panic, and what is stored replays as it was delivered.
func FuzzClassroomMessage(f *testing.F) {
	f.Add([]byte(`{"id":1,"type":"sendMessage","data":{"type":"text","text":"hello","clientMsgId":"a"}}`))
	f.Add([]byte(`{"id":2,"type":"sendMessage","data":{"type":"custom","data":"{\"stroke\":[[0.1,0.2]]}","ext":"TXWhiteBoardExt","clientMsgId":"b"}}`))
	f.Add([]byte(`{"id":3,"type":"sendMessage","data":{"type":"video","clientMsgId":"c"}}`))
	f.Add([]byte(`{"id":4,"type":"sendMessage","data":{"type":"text","text":"\u0000\ud800","clientMsgId":"d"}}`))
	cs, member := fuzzClass(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var frame struct{ Data SendRequest }
		if json.Unmarshal(b, &frame) != nil {
			return
		}
		d := frame.Data
		d.To = "" // the group path is the one that numbers and stores
		msg, e := cs.Send(testApp, "alice", member, d)
		if e != nil {
			return
		}
		h, e := cs.History(nil, testApp, member.Room.ID, msg.Seq-1, 1)
		if e != nil {
			t.Fatal(e)
		}
		stored := h["messages"].([]json.RawMessage)
		if msg.From == "" {
			// A retry of an earlier input's clientMsgId: the reply is the
			// first send's number and time, and that message is stored.
			checkRetryReply(t, stored, msg)
			return
		}
		want := marshalUnescaped(msg)
		if len(stored) != 1 || string(stored[0]) != string(want) {
			t.Fatalf("stored %s, delivered %s", stored, want)
		}
	})
}

func checkRetryReply(t *testing.T, stored []json.RawMessage, reply Message) {
	var first Message
	if len(stored) != 1 || json.Unmarshal(stored[0], &first) != nil {
		t.Fatalf("a retry was answered with seq %d, and history after %d holds %s", reply.Seq, reply.Seq-1, stored)
	}
	if first.Seq == reply.Seq && (first.Time != reply.Time || first.ClientMsgID != reply.ClientMsgID) {
		t.Fatalf("a retry was answered %+v; the message stored as seq %d is %s", reply, reply.Seq, stored[0])
	}
}

// fuzzClass is a class with one signed-in member on a fresh store; its
// sender has no rate limit.
func fuzzClass(tb testing.TB) (*Classrooms, *trtc.Member) {
	cs, gate := testClasses(tb, 0, true)
	id := tlssig.Room{ID: 7}
	if e := cs.Create(testApp, id, "alice"); e != nil {
		tb.Fatal(e)
	}
	cs.SignIn(testApp, "alice", &eventPeer{})
	return cs, enter(tb, gate, "alice", id, &eventPeer{})
}
