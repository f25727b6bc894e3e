package websdk

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/trtcd/trtcd/internal/wsconn"
)

func TestDecodeRequest(t *testing.T) {
	for _, c := range []struct {
		name, frame string
		cmd, data   string
		seq         int64
		err         error
	}{
		{"a join as the SDK sends it", `{"cmd":"join","data":{"roomId":"1234","useStringRoomId":false},"userId":"alice","seq":1}`,
			"join", `{"roomId":"1234","useStringRoomId":false}`, 1, nil},
		{"a heartbeat with a tinyId", `{"cmd":"quality_report","data":{},"userId":"alice","tinyId":1234567,"seq":9}`, "quality_report", `{}`, 9, nil},
		{"no data becomes {}", `{"cmd":"leave","seq":3}`, "leave", `{}`, 3, nil},
		{"null data becomes {}", `{"cmd":"leave","data":null,"seq":3}`, "leave", `{}`, 3, nil},
		{"no cmd", `{"data":{},"seq":3}`, "", "", 0, ErrNotRequest},
		{"data that is not an object", `{"cmd":"publish","data":[1,2]}`, "", "", 0, ErrNotRequest},
		{"not JSON", `hello`, "", "", 0, ErrNotRequest},
		{"a number cmd (a server frame echoed back)", `{"cmd":20,"data":{}}`, "", "", 0, ErrNotRequest},
		{"too large", `{"cmd":"publish","data":{"sdp":"` + strings.Repeat("x", MaxFrameBytes) + `"}}`, "", "", 0, ErrFrameTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := DecodeRequest([]byte(c.frame))
			if !errors.Is(err, c.err) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
			if err != nil {
				return
			}
			if r.Cmd != c.cmd || string(r.Data) != c.data || r.Seq != c.seq {
				t.Fatalf("got cmd %q data %s seq %d", r.Cmd, r.Data, r.Seq)
			}
		})
	}
}

// A reply always carries data, an object even when empty: the SDK reads
// its fields even from a failed join.
func TestReplyAlwaysHasData(t *testing.T) {
	c := &conn{out: wsconn.New(nil, wsconn.Config{}), done: make(chan struct{})}
	c.send(Reply{Cmd: cmdJoinResult, Code: 70346, Message: "userSig check failed", Seq: 1})
	var m map[string]json.RawMessage
	if err := json.Unmarshal(c.out.Take()[0], &m); err != nil {
		t.Fatal(err)
	}
	if string(m["data"]) != "{}" || string(m["cmd"]) != "20" || string(m["seq"]) != "1" || string(m["code"]) != "70346" {
		t.Fatalf("reply %v", m)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"cmd":"join","data":{"roomId":"1234","useStringRoomId":false,"privateMapKey":"","trtcRole":20},"userId":"alice","seq":1}`,
		`{"cmd":"publish","data":{"type":"offer","sdp":"v=0\r\n","state":{"audio":true,"bigVideo":true}},"tinyId":12,"seq":5}`,
		`{"cmd":"subscribe","data":{"srcUserId":"bob","srcTinyId":7,"audio":true},"seq":6}`,
		`{"cmd":"mute_uplink","data":{"audio":true,"bigVideo":false,"auxVideo":false}}`,
		`{"cmd":"leave"}`, `{"cmd":""}`, `[]`, `null`, `{"cmd":"x","data":"s"}`, `{"cmd":"x","tinyId":"1e400"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			return
		}
		if r.Cmd == "" {
			t.Fatal("a request without cmd was accepted")
		}
		var v map[string]any
		if json.Unmarshal(r.Data, &v) != nil {
			t.Fatalf("data %q is not an object", r.Data)
		}
	})
}
