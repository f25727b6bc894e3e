package ws

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// FuzzWebSocketSession drives whole /ws sessions in-process: each input is
// up to a dozen frames, one a line, for two connections (a line starting
// with "B" goes to the second, anything else to the first), through
// dispatch: parsing, login and join, rooms with real media sessions,
// classrooms and their messages. Placeholders stand for what the fuzzer
// cannot forge, so that it gets past authentication and into media while
// its inputs stay small: "@alice" and "@bob" are their userSigs, "@strict"
// and "@pmk" alice's userSig and privateMapKey in the app that requires
// one, "@offer" a real pion offer. Every frame gets exactly one reply, with
// its id, unless its connection was closed; nothing panics.
//
// The SFU's own goroutines make coverage vary from run to run, so run it
// with -fuzzminimizetime 0 (or a few seconds): minimising every "new"
// input otherwise takes most of the time.
func FuzzWebSocketSession(f *testing.F) {
	for _, seed := range webSocketSeeds {
		f.Add([]byte(seed))
	}
	ws, placeholders := fuzzWebSocket(f)
	f.Fuzz(func(t *testing.T, input []byte) {
		conns := [2]*conn{ws.newConn(nil), ws.newConn(nil)}
		defer conns[1].close()
		defer conns[0].close()
		for i, line := range bytes.SplitN(input, []byte("\n"), maxFuzzFrames+1) {
			if i == maxFuzzFrames {
				break
			}
			c := conns[0]
			if len(line) > 0 && line[0] == 'B' {
				c, line = conns[1], line[1:]
			}
			for name, value := range placeholders {
				line = bytes.ReplaceAll(line, []byte(name), value)
			}
			checkOneReply(t, c, line)
			conns[1-connIndex(conns, c)].out.Take() // the other's events
		}
	})
}

const maxFuzzFrames = 12

func connIndex(conns [2]*conn, c *conn) int {
	if conns[0] == c {
		return 0
	}
	return 1
}

// checkOneReply dispatches a frame and checks what the client would see:
// one reply (events may come too), with the request's id.
func checkOneReply(t *testing.T, c *conn, frame []byte) {
	if c.out.Ending() {
		return // closed (kicked): its frames are no longer read
	}
	c.dispatch(frame)
	out := c.out.Take()
	if c.out.Ending() {
		return
	}
	var wantID int64
	if req, _ := decodeRequest(frame); req != nil {
		wantID = req.ID
	}
	replies := 0
	for _, b := range out {
		var probe struct {
			Type string `json:"type"`
			ID   int64  `json:"id"`
		}
		if err := json.Unmarshal(b, &probe); err != nil {
			t.Fatalf("the server sent a frame that is not JSON: %q", b)
		}
		if probe.Type == "reply" {
			replies++
			if probe.ID != wantID {
				t.Fatalf("reply id %d to a request with id %d: %s", probe.ID, wantID, b)
			}
		}
	}
	if replies != 1 {
		t.Fatalf("%d replies to %q, want 1: %q", replies, frame, out)
	}
}

// fuzzWebSocket is /ws on a real SFU and classrooms on a fresh store, with
// limits that let the fuzzer's frames through, and what the placeholders
// stand for.
func fuzzWebSocket(tb testing.TB) (*Server, map[string][]byte) {
	apps, err := trtc.NewApps(trtc.App{SDKAppID: open, Key: key}, trtc.App{SDKAppID: strict, Key: key, RequirePrivateMapKey: true})
	if err != nil {
		tb.Fatal(err)
	}
	rooms := trtc.NewRegistry(0, time.Hour)
	quiet := slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelError + 1}))
	media, err := sfu.New(sfu.Config{Transport: sfu.TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true}, Logger: quiet,
		OnTrack: func(room, user string, src sfu.Source, published bool) {
			rooms.Streams(room, user, src.String(), published)
		}})
	if err != nil {
		tb.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(tb.TempDir(), "db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	store, err := classroom.OpenStore(db)
	if err != nil {
		tb.Fatal(err)
	}
	classLimits := classroom.DefaultLimits
	classLimits.MessagesPerSecond, classLimits.MessageBurst = 1e9, 1e9
	cs, err := classroom.Load(rooms, store, classLimits)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { media.Close(); rooms.Close(); store.Close(); db.Close() })
	// A subscribe to a publisher that has not sent yet waits for it: short
	// here, so that the fuzzer's executions stay cheap.
	gate := &trtc.Gate{Apps: apps, Rooms: rooms, Media: media}
	ws := &Server{Gate: gate, SFU: media, Classrooms: cs, Logger: quiet, negotiation: 100 * time.Millisecond}
	values := map[string][]byte{}
	for _, user := range []string{"alice", "bob"} {
		values["@"+user] = []byte(tlssig.GenUserSig(key, open, user, 24*time.Hour, time.Now().Add(-time.Minute)))
	}
	values["@strict"] = []byte(tlssig.GenUserSig(key, strict, "alice", 24*time.Hour, time.Now().Add(-time.Minute)))
	values["@pmk"] = []byte(tlssig.GenPrivateMapKey(key, strict, "alice", 24*time.Hour, time.Now(), tlssig.Room{ID: 9}, tlssig.PrivAll))
	offer, _ := json.Marshal(realOffer(tb))
	values["@offer"] = offer[1 : len(offer)-1] // inside the frame's JSON string
	return ws, values
}

// webSocketSeeds are sessions a client really has: join and publish,
// classrooms and their messages, a takeover.
var webSocketSeeds = []string{
	`{"id":1,"type":"join","data":{"sdkAppId":1400000001,"userId":"alice","userSig":"@alice","roomId":5}}
{"id":2,"type":"publish","data":{"sdp":"@offer"}}
{"id":3,"type":"mute","data":{"audioMuted":true}}
{"id":4,"type":"members"}
B{"id":1,"type":"join","data":{"sdkAppId":1400000001,"userId":"bob","userSig":"@bob","roomId":5}}
B{"id":2,"type":"subscribe","data":{"sdp":"@offer","userId":"carol"}}
B{"id":3,"type":"unsubscribe","data":{"userId":"alice"}}
{"id":5,"type":"unpublish"}
{"id":6,"type":"leave"}`,
	`{"id":1,"type":"login","data":{"sdkAppId":1400000001,"userId":"alice","userSig":"@alice"}}
{"id":2,"type":"createClassroom","data":{"classId":7}}
{"id":3,"type":"joinClassroom","data":{"classId":7,"template":"1v1"}}
B{"id":1,"type":"login","data":{"sdkAppId":1400000001,"userId":"bob","userSig":"@bob"}}
B{"id":2,"type":"joinClassroom","data":{"strClassId":"7","role":"student"}}
{"id":4,"type":"sendMessage","data":{"type":"text","text":"hello <b>","clientMsgId":"a"}}
B{"id":3,"type":"sendMessage","data":{"to":"alice","type":"custom","data":"{\"stroke\":[]}","clientMsgId":"b"}}
{"id":5,"type":"history","data":{"afterSeq":0,"limit":10}}
{"id":6,"type":"quitClassroom"}
{"id":7,"type":"destroyClassroom","data":{"classId":7}}`,
	`{"id":1,"type":"join","data":{"sdkAppId":1400000001,"userId":"alice","userSig":"@alice","strRoomId":"a b","recordId":12,"minBitrate":100,"maxBitrate":5000,"pureAudioPushMod":1}}
B{"id":1,"type":"join","data":{"sdkAppId":1400000001,"userId":"alice","userSig":"@alice","strRoomId":"a b"}}
{"id":2,"type":"heartbeat"}`,
	`{"id":1,"type":"join","data":{"sdkAppId":1400000002,"userId":"alice","userSig":"@strict","roomId":9,"privateMapKey":"@pmk"}}
{"id":2,"type":"candidate","data":{}}`,
	`{"id":1,"type":"follow","data":{"sdkAppId":1400000001,"userId":"alice","userSig":"@alice","roomId":5}}
{"id":2,"type":"members"}
{"id":3,"type":"mute","data":{"audioMuted":true}}
B{"id":1,"type":"join","data":{"sdkAppId":1400000001,"userId":"bob","userSig":"@bob","roomId":5}}
{"id":4,"type":"join","data":{"sdkAppId":1400000001,"userId":"alice","userSig":"@alice","roomId":5}}
{"id":5,"type":"quit"}
B{"id":2,"type":"login","data":{"sdkAppId":1400000001,"userId":"bob","userSig":"@bob"}}
B{"id":3,"type":"joinClassroom","data":{"classId":5,"follow":true}}`,
	`{"id":1,"type":"heartbeat"}
{"type":""}
[1,2,3]
{"id":9007199254740993,"type":"publish","data":null}`,
}

// The fuzzer's apps: open needs a userSig, strict a privateMapKey too.
const (
	key    = "9d3c0f5e1b7a4c2d8e6f0a1b3c5d7e9f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c1d"
	open   = 1400000001
	strict = 1400000002
)

// realOffer is a pion client's offer to send audio and video.
func realOffer(tb testing.TB) string {
	pc := testpeer.NewPeer(tb, testpeer.Options{})
	defer pc.Close()
	src, err := testpeer.NewSource("s", 600, 25)
	if err != nil {
		tb.Fatal(err)
	}
	if err := src.AddTo(pc); err != nil {
		tb.Fatal(err)
	}
	testpeer.Offer(tb, pc)
	return pc.LocalDescription().SDP
}
