package websdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// FuzzWebSDKDispatch drives whole /websdk sessions in-process, with no
// network: each input is up to a dozen frames, one a line, into the frame
// parsing and dispatch of three sockets: alice (lines without a prefix),
// bob ("B…") and alice again from another tab ("C…", whose join takes the
// first one's place). The sockets' userSigs are valid, so a join in the
// seeds logs in, and the frames after it reach rooms, real media sessions
// on a real SFU, privateMapKeys ("@pmk" stands for a valid one) and the
// frame budget. Nothing panics, in the read loop or in a logged-in
// socket's loops, and every frame a client gets is a JSON object whose
// data is not null (the SDK dereferences it).
func FuzzWebSDKDispatch(f *testing.F) {
	for _, seed := range webSDKSeeds() {
		f.Add([]byte(seed))
	}
	h, pmk := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, input []byte) {
		before := panics.Count(panics.WebSDK)
		socks := [3]*sink{{}, {}, {}}
		conns := [3]*conn{fuzzConn(h, socks[0], "alice"), fuzzConn(h, socks[1], "bob"), fuzzConn(h, socks[2], "alice")}
		for _, c := range conns {
			c.setup()
		}
		var refused [3]bool // over its frame budget: the read loop has ended
		for i, line := range bytes.SplitN(input, []byte("\n"), maxFuzzFrames+1) {
			if i == maxFuzzFrames {
				break
			}
			to := 0
			if len(line) > 0 && (line[0] == 'B' || line[0] == 'C') {
				to, line = int(line[0]-'A'), line[1:]
			}
			if !refused[to] && !conns[to].isClosed() {
				refused[to] = !conns[to].handleFrame(bytes.ReplaceAll(line, []byte("@pmk"), pmk))
			}
		}
		for i, c := range conns {
			c.close()
			c.loops.Wait()
			if err := socks[i].failure(); err != nil {
				t.Fatal(err)
			}
		}
		if n := panics.Count(panics.WebSDK) - before; n != 0 {
			t.Fatalf("%v panics recovered in the sockets' loops (the log has the stack)", n)
		}
	})
}

const maxFuzzFrames = 12

// fuzzHandler is /websdk on a real SFU, running media commands in step
// with the frames; pmk is a valid privateMapKey for
// alice in room 1234.
func fuzzHandler(tb testing.TB) (*Handler, []byte) {
	apps, err := trtc.NewApps(trtc.App{SDKAppID: testApp, Key: testKey})
	if err != nil {
		tb.Fatal(err)
	}
	rooms := trtc.NewRegistry(0, time.Hour)
	quiet := slog.New(slog.DiscardHandler)
	media, err := sfu.New(sfu.Config{Transport: sfu.TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true}, Logger: quiet,
		OnTrack: func(room, user string, src sfu.Source, published bool) {
			rooms.Streams(room, user, src.String(), published)
		}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { media.Close(); rooms.Close() })
	h := &Handler{Gate: &trtc.Gate{Apps: apps, Rooms: rooms}, SFU: media, Logger: quiet, inlineMedia: true,
		// Long enough for a publish on loopback; a subscribe to a member
		// who sends nothing waits all of it for the tracks.
		negotiation: 30 * time.Millisecond}
	pmk := tlssig.GenPrivateMapKey(testKey, testApp, "alice", 24*time.Hour, time.Now(), tlssig.Room{ID: 1234}, tlssig.PrivAll)
	return h, []byte(pmk)
}

var fuzzSigs sync.Map // user → userSig; making one costs more than a frame

func fuzzConn(h *Handler, s *sink, user string) *conn {
	userSig, ok := fuzzSigs.Load(user)
	if !ok {
		userSig, _ = fuzzSigs.LoadOrStore(user, tlssig.GenUserSig(testKey, testApp, user, 24*time.Hour, time.Now().Add(-time.Minute)))
	}
	q := url.Values{"sdkAppId": {strconv.Itoa(testApp)}, "userId": {user}, "userSig": {userSig.(string)}}
	return newConn(h, s, "127.0.0.1:40000", q)
}

// sink is a socket that takes every frame and checks it as the SDK would
// read it.
type sink struct {
	mu  sync.Mutex
	err error
}

func (s *sink) WriteMessage(kind int, b []byte) error {
	var f struct {
		Cmd  *int            `json:"cmd"`
		Data json.RawMessage `json:"data"`
	}
	var err error
	switch {
	case kind == websocket.CloseMessage || kind == websocket.PingMessage:
		return nil
	case kind != websocket.TextMessage:
		err = fmt.Errorf("a frame of kind %d", kind)
	case json.Unmarshal(b, &f) != nil || f.Cmd == nil:
		err = fmt.Errorf("a frame the SDK cannot read: %q", b)
	case len(f.Data) == 0 || string(f.Data) == "null" || f.Data[0] != '{':
		err = fmt.Errorf("a frame whose data is not an object: %q", b)
	}
	if err != nil {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
	}
	return nil
}

func (s *sink) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (*sink) WriteControl(int, []byte, time.Time) error { return nil }
func (*sink) SetWriteDeadline(time.Time) error          { return nil }
func (*sink) Close() error                              { return nil }

// webSDKSeeds are sessions the SDK really has: join, publish with a real
// offer, subscribe, turning a subscription's sections off and on, mute,
// the user list, a role change with a key, the commands of cloud features,
// a takeover by another tab, and garbage.
func webSDKSeeds() []string {
	uplink, downlink := sdkOffers()
	up, _ := json.Marshal(uplink)
	down, _ := json.Marshal(downlink)
	return []string{
		`{"cmd":"join","data":{"roomId":"1234","useStringRoomId":false,"trtcRole":20},"userId":"alice","seq":1}
{"cmd":"publish","data":{"type":"offer","sdp":` + string(up) + `,"state":{"audio":true,"bigVideo":true},"constraintConfig":{"videoBps":800000}},"seq":2}
{"cmd":"mute_uplink","data":{"audio":true,"bigVideo":false},"seq":3}
B{"cmd":"join","data":{"roomId":"1234"},"seq":1}
B{"cmd":"subscribe","data":{"type":"offer","sdp":` + string(down) + `,"srcUserId":"alice","audio":true,"bigVideo":true},"seq":2}
B{"cmd":"subscribe_change","data":{"srcTinyId":` + fmt.Sprint(TinyID(testKey, "alice")) + `,"audio":false,"bigVideo":false,"smallVideo":true,"auxVideo":true},"seq":3}
B{"cmd":"subscribe_change","data":{"srcTinyId":` + fmt.Sprint(TinyID(testKey, "alice")) + `,"bigVideo":true,"audio":true},"seq":4}
B{"cmd":"get_user_list","data":{},"seq":5}
B{"cmd":"unsubscribe","data":{"srcUserId":"alice"},"seq":6}
{"cmd":"unpublish","data":{},"seq":4}
{"cmd":"quality_report","data":{"uplink":[]},"tinyId":123,"seq":5}
{"cmd":"leave","data":{},"seq":6}`,
		`{"cmd":"join","data":{"roomId":"1234","privateMapKey":""},"seq":1}
{"cmd":"change_role","data":{"role":21,"privateMapKey":"@pmk"},"seq":2}
{"cmd":"start_mcu_mix","data":{"roomId":1234},"seq":3}
{"cmd":"publish_change","data":{},"seq":4}
{"cmd":"update_constraint_config","data":{"videoBps":1},"seq":5}
C{"cmd":"join","data":{"roomId":"1234"},"seq":1}
{"cmd":"get_user_list","data":{},"seq":6}`,
		`{"cmd":"join","data":{"roomId":"class-7","useStringRoomId":true,"privateMapKey":"@pmk"},"seq":1}
{"cmd":"join","data":{"roomId":"class-7","useStringRoomId":true},"seq":2}
{"cmd":"subscribe","data":{"sdp":"v=0","srcUserId":""},"seq":3}`,
		`{"cmd":"publish","data":{"sdp":"v=0"},"seq":1}
{"cmd":"join","data":{"roomId":"0"},"seq":2}
{"cmd":"join","data":[1]}
{"cmd":20,"data":{}}
hello
{"cmd":"quality_report"}
{"cmd":"quality_report"}
{"cmd":"quality_report"}
{"cmd":"quality_report"}
{"cmd":"quality_report"}
{"cmd":"quality_report"}
{"cmd":"quality_report"}`,
	}
}

// sdkOffers are offers in the SDK's shape, small enough for the fuzzer to
// mutate: the uplink's four sendonly sections (microphone, camera, small
// video, screen share) and a downlink's three recvonly ones (audio, main
// video, screen share).
func sdkOffers() (uplink, downlink string) {
	return uplinkOffer(), sessionHead + "a=group:BUNDLE 0 1 2\r\n" +
		audioSection("0", "recvonly") + videoSection("1", "recvonly") + videoSection("2", "recvonly")
}
