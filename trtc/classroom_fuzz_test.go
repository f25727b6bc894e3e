package trtc

import (
	"encoding/json"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

// FuzzClassroomMessage: any message frame is decoded and checked, and a
// valid one is delivered and stored, or refused with a code; never a
// panic, and what is stored replays as it was delivered.
func FuzzClassroomMessage(f *testing.F) {
	f.Add([]byte(`{"id":1,"type":"sendMessage","data":{"type":"text","text":"hello","clientMsgId":"a"}}`))
	f.Add([]byte(`{"id":2,"type":"sendMessage","data":{"type":"custom","data":"{\"stroke\":[[0.1,0.2]]}","ext":"TXWhiteBoardExt","clientMsgId":"b"}}`))
	f.Add([]byte(`{"id":3,"type":"sendMessage","data":{"type":"video","clientMsgId":"c"}}`))
	f.Add([]byte(`{"id":4,"type":"sendMessage","data":{"type":"text","text":"\u0000\ud800","clientMsgId":"d"}}`))
	cs, member := fuzzClass(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		req, e := decodeRequest(b)
		if e != nil {
			return
		}
		var d SendRequest
		if decodeData(req, &d) != nil {
			return
		}
		d.To = "" // the group path is the one that numbers and stores
		msg, e := cs.Send(1, "alice", member, d)
		if e != nil {
			return
		}
		h, e := cs.History(1, member.Room.ID, msg.Seq-1, 1)
		if e != nil {
			t.Fatal(e)
		}
		stored := h["messages"].([]json.RawMessage)
		want := marshalUnescaped(msg)
		if len(stored) != 1 || string(stored[0]) != string(want) {
			t.Fatalf("stored %s, delivered %s", stored, want)
		}
	})
}

// fuzzClass is a class with one signed-in member on a fresh store; its
// sender has no rate limit.
func fuzzClass(tb testing.TB) (*Classrooms, *Member) {
	db, err := bolt.Open(filepath.Join(tb.TempDir(), "db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	store, err := OpenClassStore(db)
	if err != nil {
		tb.Fatal(err)
	}
	rooms := NewRegistry(0, 0)
	tb.Cleanup(func() { store.Close(); db.Close(); rooms.Close() })
	limits := DefaultClassLimits
	limits.MessagesPerSecond, limits.MessageBurst = 1e9, 1e9
	cs, _ := LoadClassrooms(rooms, store, limits)
	id := tlssig.Room{ID: 7}
	if e := cs.Create(1, id, "alice"); e != nil {
		tb.Fatal(e)
	}
	cs.SignIn(1, "alice", &silentPeer{})
	m, _, e := rooms.Enter(EnterRequest{App: 1, UserID: "alice", Room: id, Grant: &Grant{Privilege: tlssig.PrivAll}, Peer: &silentPeer{}})
	if e != nil {
		tb.Fatal(e)
	}
	return cs, m
}
