package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/internal/testws"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
	"github.com/trtcd/trtcd/ws"
)

func joinData(app uint32, user string, room uint32, mods ...func(*ws.JoinData)) ws.JoinData {
	d := ws.JoinData{SDKAppID: app, UserID: user, UserSig: testways.UserSig(app, user, time.Hour), RoomID: room}
	for _, m := range mods {
		m(&d)
	}
	return d
}

func decodeJoin(t *testing.T, r ws.Reply) ws.JoinResult {
	t.Helper()
	var j ws.JoinResult
	b, _ := json.Marshal(r.Data)
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	return j
}

// The join rules, table-driven, each through a real WebSocket.
func TestJoinRules(t *testing.T) {
	s := testways.Start(t, 0, nil)
	room := tlssig.Room{ID: 55}
	for _, tc := range []struct {
		story string
		data  ws.JoinData
		code  trtc.Code
	}{
		{"no userId", joinData(testways.OpenApp, "", 55), trtc.CodeMissingUserID},
		{"no sdkAppId", joinData(0, "alice", 55), trtc.CodeMissingSDKAppID},
		{"no userSig", joinData(testways.OpenApp, "alice", 55, func(d *ws.JoinData) { d.UserSig = "" }), trtc.CodeMissingUserSig},
		{"no room", joinData(testways.OpenApp, "alice", 0), trtc.CodeMissingRoomID},
		{"a forged userSig", joinData(testways.OpenApp, "alice", 55, func(d *ws.JoinData) { d.UserSig = testways.UserSig(testways.OpenApp, "bob", time.Hour) }), trtc.CodeUserSigCheckFailed},
		{"an expired userSig", joinData(testways.OpenApp, "alice", 55, func(d *ws.JoinData) { d.UserSig = testways.UserSig(testways.OpenApp, "alice", -time.Hour) }), trtc.CodeUserSigCheckFailed},
		{"no privateMapKey where required", joinData(testways.StrictApp, "alice", 55), trtc.CodePrivateMapKeyEmpty},
		{"a key without the enter bit", joinData(testways.StrictApp, "alice", 55, func(d *ws.JoinData) {
			d.PrivateMapKey = testways.PrivateMapKey(testways.StrictApp, "alice", room, tlssig.PrivAll&^tlssig.PrivEnterRoom, time.Hour)
		}), trtc.CodeNoEnterRoomPrivilege},
		{"creating a room without the create bit", joinData(testways.StrictApp, "alice", 55, func(d *ws.JoinData) {
			d.PrivateMapKey = testways.PrivateMapKey(testways.StrictApp, "alice", room, tlssig.PrivEnterRoom, time.Hour)
		}), trtc.CodeNoCreateRoomPrivilege},
		{"a bad pureAudioPushMod", joinData(testways.OpenApp, "alice", 55, func(d *ws.JoinData) { d.PureAudioPushMod = 3 }), trtc.CodeParamCheckFailed},
		{"minBitrate above maxBitrate", joinData(testways.OpenApp, "alice", 55, func(d *ws.JoinData) { d.MinBitrate, d.MaxBitrate = 900, 500 }), trtc.CodeParamCheckFailed},
		{"a valid join", joinData(testways.OpenApp, "alice", 55, func(d *ws.JoinData) { d.RecordID = "1234" }), trtc.CodeOK},
	} {
		c := s.DialWS(t)
		if r := c.Join(tc.data); r.Code != tc.code {
			t.Errorf("%s: code %d (%s), want %d", tc.story, r.Code, r.Message, tc.code)
		}
	}
	c := s.DialWS(t)
	if r := c.Request("publish", ws.SDPData{SDP: "v=0"}); r.Code != trtc.CodeParamCheckFailed {
		t.Errorf("publish before join: code %d", r.Code)
	}
	if r := c.Request("dance", nil); r.Code != trtc.CodeParamCheckFailed {
		t.Errorf("unknown request: code %d", r.Code)
	}
	c.Conn.WriteMessage(websocket.TextMessage, []byte("{not json"))
	if r := c.Request("heartbeat", nil); r.Code != trtc.CodeParamCheckFailed || !strings.Contains(r.Message, "before join") {
		t.Errorf("the connection must survive broken JSON: %+v", r)
	}
}

// Ten users race into a 1v1 room: exactly two get in, the rest get the
// room-full code.
func TestConcurrentJoinsToOneToOneRoom(t *testing.T) {
	s := testways.Start(t, 0, nil)
	var ok, full atomic.Int32
	var wg sync.WaitGroup
	for i := range 10 {
		c := s.DialWS(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch r := c.Join(joinData(testways.OpenApp, fmt.Sprintf("u%d", i), 77, func(d *ws.JoinData) { d.Template = "1v1bigsmall" })); r.Code {
			case trtc.CodeOK:
				ok.Add(1)
			case trtc.CodeRoomFull:
				full.Add(1)
			default:
				t.Errorf("join: %d %s", r.Code, r.Message)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 2 || full.Load() != 8 {
		t.Fatalf("%d joined and %d were refused, want 2 and 8", ok.Load(), full.Load())
	}
}

// Signing in again elsewhere takes over: the old connection gets
// force-offline and is closed; the others see the user leave and come back.
func TestDuplicateLoginTakesOver(t *testing.T) {
	s := testways.Start(t, 0, nil)
	tab1, bob, tab2 := s.DialWS(t), s.DialWS(t), s.DialWS(t)
	oneToOne := func(d *ws.JoinData) { d.Template = "1v1horizontal" }
	if r := tab1.Join(joinData(testways.OpenApp, "alice", 88, oneToOne)); r.Code != 0 {
		t.Fatal(r.Message)
	}
	if r := bob.Join(joinData(testways.OpenApp, "bob", 88, oneToOne)); r.Code != 0 {
		t.Fatal(r.Message)
	}
	// The room is full, but alice's own new session is let in.
	r := tab2.Join(joinData(testways.OpenApp, "alice", 88, oneToOne))
	if r.Code != 0 {
		t.Fatalf("second login: %d %s", r.Code, r.Message)
	}
	if j := decodeJoin(t, r); len(j.Members) != 1 || j.Members[0].UserID != "bob" || j.Capacity != 2 {
		t.Fatalf("members on join %+v", j)
	}
	if d, ok := tab1.Event(trtc.EventForceOffline, 3*time.Second); !ok || d["code"] != float64(trtc.CodeForceOffline) {
		t.Fatalf("the first tab got no force-offline event (%v)", d)
	}
	select {
	case <-tab1.Closed:
	case <-time.After(3 * time.Second):
		t.Fatal("the first tab's connection stays testways.OpenApp")
	}
	if d, ok := bob.Event(trtc.EventMemberQuit, 2*time.Second); !ok || d["userId"] != "alice" {
		t.Fatal("bob did not see the old alice leave")
	}
	if d, ok := bob.Event(trtc.EventMemberJoin, 2*time.Second); !ok || d["userId"] != "alice" {
		t.Fatal("bob did not see the new alice join")
	}
}

// A member whose heartbeats stop is removed; the others are told with
// member-quit and player-disconnect.
func TestHeartbeatTimeout(t *testing.T) {
	s := testways.Start(t, 500*time.Millisecond, func(w *testways.Ways) { w.WS.Limits = ws.DefaultLimits })
	quiet, alive := s.DialWS(t), s.DialWS(t)
	quiet.Join(joinData(testways.OpenApp, "quiet", 99))
	alive.Join(joinData(testways.OpenApp, "alive", 99))
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				alive.Conn.WriteJSON(ws.Request{Type: "heartbeat"})
			}
		}
	}()
	if d, ok := alive.Event(trtc.EventMemberQuit, 3*time.Second); !ok || d["userId"] != "quiet" || d["reason"] != "timeout" {
		t.Fatalf("member-quit for the silent member: %v", d)
	}
	if _, ok := alive.Event(trtc.EventPlayerDisconnect, time.Second); !ok {
		t.Fatal("no player-disconnect event")
	}
	if d, ok := quiet.Event(trtc.EventClosed, time.Second); !ok || d["code"] != float64(trtc.CodeHeartbeatTimeout) {
		t.Fatalf("the silent client was not told why: %v", d)
	}
}

// offerFor makes a pion client's offer for the WebSocket tests.
func offerFor(t *testing.T, send bool) (*webrtc.PeerConnection, string, *testpeer.Source) {
	return testways.Offer(t, send, testpeer.Options{})
}

// A WHIP publisher and WebSocket members share a room: the WebSocket
// members see the publisher, receive its streams, and see each other's
// publish and mute events.
func TestWebSocketAndWHIPMembersSeeEachOther(t *testing.T) {
	s := testways.Start(t, 0, nil)
	pub, offer, src := offerFor(t, true)
	r := testways.Post(t, fmt.Sprintf("%s/whip/%d/321/alice", s.URL, testways.OpenApp), testways.UserSig(testways.OpenApp, "alice", time.Hour), "application/sdp", offer)
	if r.Status != 201 {
		t.Fatalf("WHIP: %+v", r)
	}
	pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.Body})
	stopSrc := startSource(src)
	defer stopSrc()

	bob := s.DialWS(t)
	testpeer.WaitFor(t, "alice's streams", 5*time.Second, func() bool {
		return s.SFU.HasRoom(trtc.RoomKey(testways.OpenApp, tlssig.Room{ID: 321}))
	})
	var j ws.JoinResult
	testpeer.WaitFor(t, "alice publishing in bob's member list", 5*time.Second, func() bool {
		c := s.DialWS(t)
		jr := c.Join(joinData(testways.OpenApp, "probe", 321))
		j = decodeJoin(t, jr)
		c.Request("leave", nil)
		return len(j.Members) == 1 && j.Members[0].Video && j.Members[0].Audio
	})
	if j.Members[0].UserID != "alice" {
		t.Fatalf("members %+v", j.Members)
	}
	if r := bob.Join(joinData(testways.OpenApp, "bob", 321)); r.Code != 0 {
		t.Fatal(r.Message)
	}

	viewer, playOffer, _ := offerFor(t, false)
	frames := testways.CountFrames(viewer)
	sub := bob.Request("subscribe", ws.SDPData{UserID: "alice", SDP: playOffer})
	if sub.Code != 0 {
		t.Fatalf("subscribe: %d %s", sub.Code, sub.Message)
	}
	answer := sub.Data.(map[string]any)["sdp"].(string)
	viewer.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer})
	testpeer.WaitFor(t, "alice's video at bob over /ws", 8*time.Second, func() bool { return frames.Load() > 10 })

	// carol joins over /ws and publishes: bob sees her join and her streams.
	carol := s.DialWS(t)
	carol.Join(joinData(testways.OpenApp, "carol", 321))
	if d, ok := bob.Event(trtc.EventMemberJoin, 2*time.Second); !ok || d["userId"] != "carol" {
		t.Fatal("bob did not see carol join")
	}
	cpc, coffer, csrc := offerFor(t, true)
	pr := carol.Request("publish", ws.SDPData{SDP: coffer})
	if pr.Code != 0 {
		t.Fatalf("carol's publish: %d %s", pr.Code, pr.Message)
	}
	cpc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: pr.Data.(map[string]any)["sdp"].(string)})
	stopCarol := startSource(csrc)
	defer stopCarol()
	if d, ok := bob.Event(trtc.EventStreamAdd, 5*time.Second); !ok || d["userId"] != "carol" {
		t.Fatalf("bob did not see carol's stream: %v", d)
	}
	muted := true
	carol.Request("mute", ws.MuteData{Video: &muted})
	if d, ok := bob.Event(trtc.EventMute, 2*time.Second); !ok || d["userId"] != "carol" || d["videoMuted"] != true {
		t.Fatalf("mute event %v", d)
	}
	carol.Request("unpublish", nil)
	if d, ok := bob.Event(trtc.EventStreamRemove, 5*time.Second); !ok || d["userId"] != "carol" {
		t.Fatalf("bob did not see carol's stream go: %v", d)
	}
}

// A client that disconnects while its publish is being answered leaves no
// session behind.
func TestDisconnectDuringPublish(t *testing.T) {
	s := testways.Start(t, 0, nil)
	c := s.DialWS(t)
	c.Join(joinData(testways.OpenApp, "alice", 654))
	_, offer, _ := offerFor(t, true)
	raw, _ := json.Marshal(ws.SDPData{SDP: offer})
	c.Conn.WriteJSON(ws.Request{ID: 1, Type: "publish", Data: raw})
	c.Conn.Close()
	key := trtc.RoomKey(testways.OpenApp, tlssig.Room{ID: 654})
	testpeer.WaitFor(t, "the room to be gone", 5*time.Second, func() bool { return !s.SFU.HasRoom(key) && !s.Rooms.Exists(key) })
}

// Limits: a flood of messages or a huge one closes the connection with
// the rate-limit code, and never crashes anything.
func TestWebSocketLimits(t *testing.T) {
	s := testways.Start(t, 0, nil)
	flood := s.DialWS(t)
	for range 200 {
		if flood.Conn.WriteJSON(ws.Request{Type: "heartbeat"}) != nil {
			break
		}
	}
	select {
	case <-flood.Closed:
	case <-time.After(3 * time.Second):
		t.Fatal("a flooding client stays connected")
	}
	if flood.Last().Code != trtc.CodeRateLimited {
		t.Errorf("flood: last reply %+v, want code %d", flood.Last(), trtc.CodeRateLimited)
	}
	big := s.DialWS(t)
	big.Conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"join","data":"`+strings.Repeat("x", 1<<20)+`"}`))
	select {
	case <-big.Closed:
	case <-time.After(3 * time.Second):
		t.Fatal("a 1 MB message did not close the connection")
	}
}

func startSource(src *testpeer.Source) func() {
	ctx, cancel := context.WithCancel(context.Background())
	go src.Run(ctx)
	return cancel
}

// A thousand clients join five hundred rooms at once (an operator raises
// the per-address connection limit for such a test, as here): every join
// succeeds and every room ends up with its two members.
func TestThousandConcurrentJoins(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	limits := ws.DefaultLimits
	limits.JoinsPerSecondIP, limits.JoinBurstIP, limits.ConnectionsPerIP = 1e6, 1e6, -1
	// Under -race, beside the browser tests on two cores, 1000 joins can
	// take tens of seconds: no heartbeat sweep or login deadline meanwhile
	// (every socket is opened before the first joins), and patient
	// clients. The time is reported, not asserted.
	limits.LoginTimeout = 10 * time.Minute
	s := testways.Start(t, 10*time.Minute, func(w *testways.Ways) { w.WS.Limits = limits })
	const clients, rooms = 1000, 500
	conns := make([]*testws.Client, clients)
	for i := range conns {
		conns[i] = s.DialWS(t)
		conns[i].Wait = 2 * time.Minute
	}
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := c.Join(joinData(testways.OpenApp, fmt.Sprintf("user%d", i), uint32(10000+i%rooms))); r.Code != 0 {
				failed.Add(1)
				t.Errorf("join %d: %d %s", i, r.Code, r.Message)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d concurrent WebSocket joins across %d rooms took %s (%.0f joins/s)", clients, rooms, elapsed.Round(time.Millisecond), clients/elapsed.Seconds())
	if failed.Load() > 0 {
		t.Fatalf("%d joins failed", failed.Load())
	}
	for i := range rooms {
		room := s.Rooms.Find(testways.OpenApp, "", tlssig.Room{ID: uint32(10000 + i)})
		if room == nil || len(s.Rooms.RoomMembers(room)) != 2 {
			t.Fatalf("room %d does not have its two members", 10000+i)
		}
	}
}

// Over /ws too, the privateMapKey's send and receive bits decide what a
// member may publish and play.
func TestWebSocketPrivileges(t *testing.T) {
	s := testways.Start(t, 0, nil)
	room := tlssig.Room{ID: 61}
	withKey := func(user string, p tlssig.Privilege) ws.JoinData {
		return joinData(testways.StrictApp, user, 61, func(d *ws.JoinData) {
			d.PrivateMapKey = testways.PrivateMapKey(testways.StrictApp, user, room, p, time.Hour)
		})
	}
	_, pubOffer, _ := offerFor(t, true)
	_, playOffer, _ := offerFor(t, false)
	for _, tc := range []struct {
		story string
		priv  tlssig.Privilege
		req   string
		data  ws.SDPData
		code  trtc.Code
	}{
		{"publishing video without the send-video bit", tlssig.PrivAll &^ tlssig.PrivSendVideo, "publish", ws.SDPData{SDP: pubOffer}, trtc.CodeNoSendVideoPrivilege},
		{"publishing audio without the send-audio bit", tlssig.PrivAll &^ tlssig.PrivSendAudio, "publish", ws.SDPData{SDP: pubOffer}, trtc.CodePrivilegeCheckFailed},
		{"playing video without the receive-video bit", tlssig.PrivAll &^ tlssig.PrivRecvVideo, "subscribe", ws.SDPData{UserID: "x", SDP: playOffer}, trtc.CodeNoRecvVideoPrivilege},
		{"playing audio without the receive-audio bit", tlssig.PrivAll &^ tlssig.PrivRecvAudio, "subscribe", ws.SDPData{UserID: "x", SDP: playOffer}, trtc.CodePrivilegeCheckFailed},
		{"garbage SDP", tlssig.PrivAll, "publish", ws.SDPData{SDP: "v=0\r\nnonsense"}, trtc.CodeParamCheckFailed},
	} {
		c := s.DialWS(t)
		if r := c.Join(withKey("m", tc.priv)); r.Code != 0 {
			t.Fatalf("%s: join %d %s", tc.story, r.Code, r.Message)
		}
		if r := c.Request(tc.req, tc.data); r.Code != tc.code {
			t.Errorf("%s: code %d (%s), want %d", tc.story, r.Code, r.Message, tc.code)
		}
		c.Request("leave", nil)
	}
}
