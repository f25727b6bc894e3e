package websdk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

const (
	testApp = 1400000001
	testKey = "c1d2e3f405162738495a6b7c8d9eafb0c1d2e3f405162738495a6b7c8d9eafb0"
)

// signallingServer serves the Web SDK endpoints without a media plane:
// enough for everything but publish and subscribe.
func signallingServer(t *testing.T) string {
	t.Helper()
	base, _ := signallingServerWithRooms(t)
	return base
}

func signallingServerWithRooms(t *testing.T) (string, *trtc.Registry) {
	t.Helper()
	apps, err := trtc.NewApps(trtc.App{SDKAppID: testApp, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	rooms := trtc.NewRegistry(0, 0)
	t.Cleanup(rooms.Close)
	mux := http.NewServeMux()
	(&Handler{Gate: &trtc.Gate{Apps: apps, Rooms: rooms}}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, rooms
}

type sdkClient struct {
	t   *testing.T
	ws  *websocket.Conn
	seq int64
}

// dial opens the signalling socket as the SDK does, credentials in the URL.
func dial(t *testing.T, base, user, userSig string, extra ...string) *sdkClient {
	t.Helper()
	q := url.Values{"sdkAppId": {fmt.Sprint(testApp)}, "userId": {user}, "userSig": {userSig}, "roomId": {"1234"},
		"enc264": {"1"}, "dec264": {"1"}, "encVp8": {"1"}, "decVp8": {"1"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+Prefix+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return &sdkClient{t: t, ws: ws}
}

func sig(user string) string { return tlssig.GenUserSig(testKey, testApp, user, time.Hour, time.Now()) }

func (c *sdkClient) send(cmd string, data any) int64 {
	c.seq++
	b, _ := json.Marshal(map[string]any{"cmd": cmd, "data": data, "seq": c.seq})
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatal(err)
	}
	return c.seq
}

type frame struct {
	Cmd     int             `json:"cmd"`
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Seq     int64           `json:"seq"`
	TinyID  uint64          `json:"tinyId"`
	Data    json.RawMessage `json:"data"`
}

// next returns the next frame with this cmd, skipping others.
func (c *sdkClient) next(cmd int) frame {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			c.t.Fatalf("waiting for cmd %d: %v", cmd, err)
		}
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			c.t.Fatalf("frame %s: %v", b, err)
		}
		if string(f.Data) == "null" || len(f.Data) == 0 {
			c.t.Fatalf("frame without data: %s", b)
		}
		if f.Cmd == cmd {
			return f
		}
	}
}

func (c *sdkClient) join(room string, str bool, pmk string) frame {
	c.t.Helper()
	seq := c.send("join", map[string]any{"roomId": room, "useStringRoomId": str, "privateMapKey": pmk, "trtcRole": 20})
	f := c.next(cmdJoinResult)
	if f.Seq != seq {
		c.t.Fatalf("join reply seq %d, want %d", f.Seq, seq)
	}
	return f
}

func TestJoinRefusals(t *testing.T) {
	base := signallingServer(t)
	forged := tlssig.GenUserSig(strings.Repeat("0", 64), testApp, "mallory", time.Hour, time.Now())
	expired := tlssig.GenPrivateMapKey(testKey, testApp, "trudy", time.Minute, time.Now().Add(-time.Hour), tlssig.Room{ID: 1234}, tlssig.PrivAll)
	otherRoom := tlssig.GenPrivateMapKey(testKey, testApp, "oscar", time.Hour, time.Now(), tlssig.Room{ID: 99}, tlssig.PrivAll)
	noEnter := tlssig.GenPrivateMapKey(testKey, testApp, "nina", time.Hour, time.Now(), tlssig.Room{ID: 1234}, tlssig.PrivAll&^tlssig.PrivEnterRoom)
	for _, c := range []struct {
		user, userSig, pmk, room string
		str                      bool
		code                     trtc.Code
	}{
		{"mallory", forged, "", "1234", false, trtc.CodeUserSigCheckFailed},
		{"trudy", sig("trudy"), expired, "1234", false, trtc.CodePrivateMapKeyExpired},
		{"oscar", sig("oscar"), otherRoom, "1234", false, trtc.CodePrivateMapKeyIncorrect},
		{"nina", sig("nina"), noEnter, "1234", false, trtc.CodeNoEnterRoomPrivilege},
		// A numeric room's key does not open the string room of the same name.
		{"trudy", sig("trudy"), tlssig.GenPrivateMapKey(testKey, testApp, "trudy", time.Hour, time.Now(), tlssig.Room{ID: 1234}, tlssig.PrivAll),
			"1234", true, trtc.CodePrivateMapKeyIncorrect},
		{"zero", sig("zero"), "", "0", false, trtc.CodeMissingRoomID},
	} {
		cl := dial(t, base, c.user, c.userSig)
		if f := cl.join(c.room, c.str, c.pmk); f.Code != int(c.code) || f.Message == "" {
			t.Errorf("%s: join got code %d %q, want %d", c.user, f.Code, f.Message, c.code)
		}
	}
}

// Two users in one room: the channel setup gives each its tinyId, joins,
// user lists, peer join and leave reach the other, refused commands fail
// at once, and a second login of the same user takes over.
func TestRoomConversation(t *testing.T) {
	base := signallingServer(t)
	alice := dial(t, base, "alice", sig("alice"))
	if f := alice.next(cmdChannelSetup); f.Code != 0 || f.TinyID != TinyID(testKey, "alice") {
		t.Fatalf("channel setup %+v", f)
	}
	seq := alice.send("publish", map[string]any{"type": "offer", "sdp": "v=0"})
	if f := alice.next(cmdPublishResult); f.Seq != seq || f.Code != int(trtc.CodeParamCheckFailed) {
		t.Fatalf("publish before join: %+v", f)
	}
	if f := alice.join("1234", false, ""); f.Code != 0 || string(f.Data) != `{"publishers":[]}` {
		t.Fatalf("join %+v %s", f, f.Data)
	}
	bob := dial(t, base, "bob", sig("bob"))
	if f := bob.join("1234", false, ""); f.Code != 0 {
		t.Fatalf("bob's join %+v", f)
	}
	if f := alice.next(cmdPeerJoin); string(f.Data) != fmt.Sprintf(`{"userId":"bob","srcTinyId":%d,"role":20}`, TinyID(testKey, "bob")) {
		t.Fatalf("peer join %s", f.Data)
	}
	seq = alice.send("get_user_list", struct{}{})
	f := alice.next(cmdUserListResult)
	want := fmt.Sprintf(`{"userList":[{"userId":"alice","srcTinyId":%d,"role":20},{"userId":"bob","srcTinyId":%d,"role":20}]}`, TinyID(testKey, "alice"), TinyID(testKey, "bob"))
	if f.Seq != seq || string(f.Data) != want {
		t.Fatalf("user list %+v %s", f, f.Data)
	}
	seq = alice.send("start_mcu_mix", map[string]any{"roomId": 1234})
	if f := alice.next(cmdStartMixResult); f.Seq != seq || f.Code == 0 || f.Message == "" {
		t.Fatalf("cloud mixing: %+v", f)
	}
	alice.send("mute_uplink", map[string]any{"audio": true, "bigVideo": false, "auxVideo": false})
	alice.next(cmdMuteResult)
	// alice publishes nothing, so bob's publisher list stays empty.
	if f := bob.next(cmdPublishers); string(f.Data) != `{"userList":[]}` {
		t.Fatalf("publishers %s", f.Data)
	}

	bob.send("leave", struct{}{})
	if f := alice.next(cmdPeerLeave); string(f.Data) != fmt.Sprintf(`{"reason":0,"srcTinyId":%d,"userId":"bob"}`, TinyID(testKey, "bob")) {
		t.Fatalf("peer leave %s", f.Data)
	}

	// alice signs in again from another tab: the first one is told.
	again := dial(t, base, "alice", sig("alice"))
	if f := again.join("1234", false, ""); f.Code != 0 {
		t.Fatalf("second login %+v", f)
	}
	if f := alice.next(cmdClientBanned); string(f.Data) != `{"reason":"kick"}` {
		t.Fatalf("the first login got %s", f.Data)
	}
}

// A socket that tries to resume a session is told to join again: trtcd
// keeps no session across sockets.
func TestResumeIsRefused(t *testing.T) {
	base := signallingServer(t)
	c := dial(t, base, "alice", sig("alice"), "rc", "1", "relayInnerIp", "0")
	c.next(cmdChannelSetup)
	if f := c.next(cmdChannelReconnect); f.Code == 0 {
		t.Fatalf("resume: %+v", f)
	}
}

func TestScheduleAndLogs(t *testing.T) {
	base := signallingServer(t)
	resp, err := http.Post(base+Prefix+"/api/v1/config", "multipart/form-data; boundary=x",
		strings.NewReader("--x\r\nContent-Disposition: form-data; name=\"userId\"\r\n\r\nalice\r\n--x--\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	var s scheduleReply
	json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	host := strings.TrimPrefix(base, "http://")
	if s.Code != 0 || len(s.Data.Domains) != 1 || s.Data.Domains[0] != host+Prefix || s.Data.Config.LoggerDomain != "https://"+host+Prefix ||
		resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("schedule %+v %v", s, resp.Header)
	}
	for _, p := range []string{Prefix + "/v5/AVQualityReportSvc/C2S", "/v5/AVQualityReportSvc/C2S"} {
		resp, err := http.Post(base+p+"?cmdtype=jssdk_new_endreport", "text/plain", strings.NewReader(`{"a":1}`))
		if err != nil {
			t.Fatal(err)
		}
		var b [8]byte
		n, _ := resp.Body.Read(b[:])
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b[:n]) != "ok" {
			t.Fatalf("%s: %d %q", p, resp.StatusCode, b[:n])
		}
	}
}

// Removal by the application server reaches the SDK as the ban reasons it
// knows: the room closed, or the user removed.
func TestRemovedByTheApplication(t *testing.T) {
	base, rooms := signallingServerWithRooms(t)
	alice, bob := dial(t, base, "alice", sig("alice")), dial(t, base, "bob", sig("bob"))
	alice.join("1234", false, "")
	bob.join("1234", false, "")
	rooms.Kick(rooms.Current(testApp, "bob"), trtc.Errorf(trtc.CodeKicked, "removed by the application server"))
	if f := bob.next(cmdClientBanned); string(f.Data) != `{"reason":"banned"}` {
		t.Fatalf("bob removed: %s", f.Data)
	}
	rooms.CloseRoom(rooms.Find(testApp, "", tlssig.Room{ID: 1234}))
	if f := alice.next(cmdClientBanned); string(f.Data) != `{"reason":"room_disband"}` {
		t.Fatalf("room closed: %s", f.Data)
	}
}

// In a cluster the schedule sends the SDK to the node placed for the room
// (the one that has it, or the least loaded), when that node serves TLS.
func TestScheduleSendsTheSDKToTheRoomsNode(t *testing.T) {
	base, rooms := signallingServerWithRooms(t)
	var asked string
	rooms.JoinCluster(placer(func(roomKey string) trtc.Placement {
		asked = roomKey
		return trtc.Placement{Node: "b", HTTP: "10.0.0.2:8080", HTTPS: "10.0.0.2:8443"}
	}), nil)
	form := func(fields ...string) string {
		var b strings.Builder
		for i := 0; i < len(fields); i += 2 {
			fmt.Fprintf(&b, "--x\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", fields[i], fields[i+1])
		}
		return b.String() + "--x--\r\n"
	}
	for _, c := range []struct {
		body, domain, room string
	}{
		{form("sdkAppId", fmt.Sprint(testApp), "groupId", "1234", "isStrGroupId", "false"), "10.0.0.2:8443" + Prefix,
			trtc.RoomKey(testApp, tlssig.Room{ID: 1234})},
		{form("sdkAppId", fmt.Sprint(testApp), "groupId", "class-7", "isStrGroupId", "true"), "10.0.0.2:8443" + Prefix,
			trtc.RoomKey(testApp, tlssig.Room{Str: "class-7"})},
		{form("userId", "alice"), strings.TrimPrefix(base, "http://") + Prefix, ""}, // no room: this node
	} {
		asked = ""
		resp, err := http.Post(base+Prefix+"/api/v1/config", "multipart/form-data; boundary=x", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		var s scheduleReply
		json.NewDecoder(resp.Body).Decode(&s)
		resp.Body.Close()
		if len(s.Data.Domains) != 1 || s.Data.Domains[0] != c.domain || asked != c.room {
			t.Fatalf("schedule sent the SDK to %v (placement asked for %q), want %s for %q", s.Data.Domains, asked, c.domain, c.room)
		}
	}
}

// placer is a cluster that only places rooms.
type placer func(roomKey string) trtc.Placement

func (placer) Node() string                                { return "a" }
func (placer) Send(trtc.RemoteEvent)                       {}
func (placer) Fetch(context.Context, string, string) error { return nil }
func (placer) ClaimRecord(string) bool                     { return true }
func (p placer) Place(_ context.Context, roomKey string) (trtc.Placement, error) {
	return p(roomKey), nil
}
