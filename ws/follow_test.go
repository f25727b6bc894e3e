package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testffmpeg"
	"github.com/trtcd/trtcd/internal/testlog"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/internal/testws"
	"github.com/trtcd/trtcd/rtmp"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
	"github.com/trtcd/trtcd/ws"
)

func followData(app uint32, user string, room uint32, mods ...func(*ws.FollowData)) ws.FollowData {
	d := ws.FollowData{SDKAppID: app, UserID: user, UserSig: testways.UserSig(app, user, time.Hour), RoomID: room}
	for _, m := range mods {
		m(&d)
	}
	return d
}

// replyData decodes a reply's data into v.
func replyData(t *testing.T, r ws.Reply, v any) {
	t.Helper()
	b, _ := json.Marshal(r.Data)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("reply data %s: %v", b, err)
	}
}

func userIDs(ms []trtc.MemberInfo) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.UserID)
	}
	return ids
}

// hasEvent waits up to within for an event called name about user (and
// of kind, when kind is not ""), leaving the events as they are.
func hasEvent(c *testws.Client, name, user, kind string, within time.Duration) bool {
	for deadline := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		for _, e := range c.Events() {
			d, _ := e.Data.(map[string]any)
			if e.Event == name && d["userId"] == user && (kind == "" || d["kind"] == kind) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// eventsAbout are the events c received about user.
func eventsAbout(c *testws.Client, user string) []string {
	var out []string
	for _, e := range c.Events() {
		if d, _ := e.Data.(map[string]any); d["userId"] == user {
			out = append(out, e.Event)
		}
	}
	return out
}

// pushRTMP starts ffmpeg pushing a test pattern and a 440 Hz tone as
// user's live-pusher would: RTMP into room, through the live way in of s.
// The push runs until the test ends; exited reports when ffmpeg stopped
// before that (a push refused, or a pusher forced offline).
func pushRTMP(t *testing.T, s *testways.Ways, room uint32, user string) (exited <-chan struct{}, output func() string) {
	t.Helper()
	ffmpeg := testffmpeg.Path(t, "ffmpeg")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &rtmp.Server{Handler: s.Live}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	push := fmt.Sprintf("rtmp://%s/live/%d_%d_%s_main?usersig=%s", ln.Addr(), testways.OpenApp, room, user,
		url.QueryEscape(testways.UserSig(testways.OpenApp, user, time.Hour)))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-v", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "120", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-profile:v", "baseline", "-g", "15",
		"-c:a", "aac", "-b:a", "64k", "-f", "flv", push)
	var out testlog.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return done, out.String
}

// The webrtc-room component's /ws connection follows the room of its own
// RTMP pusher (same userId). The pusher enters as a member and nobody is
// forced offline; the follower hears the others join, publish, mute and
// leave, hears nothing about its own user, is listed nowhere, and after
// quit hears nothing more.
func TestAFollowerHearsTheRoomOfItsRTMPPusher(t *testing.T) {
	testffmpeg.Require(t, "ffmpeg")
	s := testways.Start(t, 0, nil)
	const room = 61
	follower := s.DialWS(t)
	r := follower.Request("follow", followData(testways.OpenApp, "alice", room))
	var followed ws.FollowResult
	replyData(t, r, &followed)
	if r.Code != 0 || followed.RoomUUID != "" || followed.Members == nil || len(followed.Members) != 0 {
		t.Fatalf("following a room nobody is in yet: code %d %q, data %+v (want 0, no roomUUID, members [])", r.Code, r.Message, r.Data)
	}

	bob := s.DialWS(t)
	j := bob.Join(joinData(testways.OpenApp, "bob", room))
	if j.Code != 0 {
		t.Fatalf("bob's join: %d %s", j.Code, j.Message)
	}
	if !hasEvent(follower, trtc.EventMemberJoin, "bob", "", 5*time.Second) {
		t.Fatal("the follower did not hear bob join")
	}

	exited, output := pushRTMP(t, s, room, "alice")
	if !hasEvent(bob, trtc.EventMemberJoin, "alice", "", 15*time.Second) ||
		!hasEvent(bob, trtc.EventStreamAdd, "alice", "video", 15*time.Second) ||
		!hasEvent(bob, trtc.EventStreamAdd, "alice", "audio", 15*time.Second) {
		t.Fatalf("bob did not see alice's RTMP pusher enter and publish: %v\nffmpeg: %s", bob.Events(), output())
	}
	pusher := s.Rooms.Current(testways.OpenApp, "alice")
	if pusher == nil {
		t.Fatal("alice's pusher is not a member")
	}

	// The follower's next reply comes after every event queued for it
	// before: what it was told about alice, it has now.
	r = follower.Request("members", nil)
	var members []trtc.MemberInfo
	replyData(t, r, &members)
	if r.Code != 0 || len(members) != 1 || members[0].UserID != "bob" {
		t.Fatalf("the follower's member list: code %d, %v; want bob alone", r.Code, userIDs(members))
	}
	if about := eventsAbout(follower, "alice"); len(about) != 0 {
		t.Fatalf("the follower was told about its own user: %v", about)
	}
	select {
	case <-exited:
		t.Fatalf("alice's push ended: %s", output())
	default:
	}
	if s.Rooms.Current(testways.OpenApp, "alice") != pusher || follower.Count(trtc.EventForceOffline) != 0 {
		t.Fatal("following replaced the pusher or was forced offline")
	}

	// A publisher's streams, a member's mute and leave reach the follower.
	testpeer.PublishWHIP(t, fmt.Sprintf("%s/whip/%d/%d/carol", s.URL, testways.OpenApp, room), testways.UserSig(testways.OpenApp, "carol", time.Hour), 300)
	if !hasEvent(follower, trtc.EventStreamAdd, "carol", "video", 15*time.Second) {
		t.Fatalf("the follower did not hear carol publish video: %v", follower.Events())
	}
	bob.Request("mute", map[string]bool{"audioMuted": true})
	if !hasEvent(follower, trtc.EventMute, "bob", "", 5*time.Second) {
		t.Fatal("the follower did not hear bob mute")
	}
	// Another follower of alice's, later, gets the room's UUID and the
	// members but alice.
	late := s.DialWS(t)
	r = late.Request("follow", followData(testways.OpenApp, "alice", room))
	replyData(t, r, &followed)
	if r.Code != 0 || followed.RoomUUID != decodeJoin(t, j).RoomUUID || len(followed.Members) != 2 {
		t.Fatalf("a later follower: code %d, %+v; want the room's UUID and bob and carol", r.Code, followed)
	}
	for _, m := range followed.Members {
		if m.UserID == "alice" {
			t.Fatalf("a later follower's members list its own user: %v", userIDs(followed.Members))
		}
	}
	bob.Request("leave", nil)
	if !hasEvent(follower, trtc.EventMemberQuit, "bob", "", 5*time.Second) {
		t.Fatal("the follower did not hear bob leave")
	}

	// quit: the follower hears nothing more; the later follower does.
	if r := follower.Request("quit", nil); r.Code != 0 {
		t.Fatalf("quit: %d %s", r.Code, r.Message)
	}
	dave := s.DialWS(t)
	if r := dave.Join(joinData(testways.OpenApp, "dave", room)); r.Code != 0 {
		t.Fatalf("dave's join: %d %s", r.Code, r.Message)
	}
	if !hasEvent(late, trtc.EventMemberJoin, "dave", "", 5*time.Second) {
		t.Fatal("the later follower did not hear dave join")
	}
	if r := follower.Request("quit", nil); r.Code != trtc.CodeUserLeft { // also orders the events before it
		t.Fatalf("quit again: %d %s, want %d", r.Code, r.Message, trtc.CodeUserLeft)
	}
	if about := eventsAbout(follower, "dave"); len(about) != 0 {
		t.Fatalf("after quit the follower heard %v about dave", about)
	}
	select {
	case <-exited:
		t.Fatalf("alice's push ended: %s", output())
	default:
	}
	// Closing the socket ends the later follower's follow.
	key := trtc.RoomKey(testways.OpenApp, tlssig.Room{ID: room})
	if n := s.Rooms.Followers(key); n != 1 {
		t.Fatalf("%d followers after one quit, want 1", n)
	}
	late.Conn.Close()
	testpeer.WaitFor(t, "the closed follower to be forgotten", 5*time.Second, func() bool { return s.Rooms.Followers(key) == 0 })
}

// Follow is admitted like join, less the create bit: the codes of missing
// and failed credentials, and of the privileges.
func TestFollowRefusals(t *testing.T) {
	s := testways.Start(t, 0, nil)
	room := tlssig.Room{ID: 62}
	key := func(user string, p tlssig.Privilege) func(*ws.FollowData) {
		return func(d *ws.FollowData) {
			d.PrivateMapKey = testways.PrivateMapKey(testways.StrictApp, user, room, p, time.Hour)
		}
	}
	for _, tc := range []struct {
		story string
		data  ws.FollowData
		code  trtc.Code
	}{
		{"no userSig", followData(testways.OpenApp, "alice", 62, func(d *ws.FollowData) { d.UserSig = "" }), trtc.CodeMissingUserSig},
		{"a forged userSig", followData(testways.OpenApp, "alice", 62, func(d *ws.FollowData) { d.UserSig = testways.UserSig(testways.OpenApp, "bob", time.Hour) }), trtc.CodeUserSigCheckFailed},
		{"no room", followData(testways.OpenApp, "alice", 0), trtc.CodeMissingRoomID},
		{"no privateMapKey where required", followData(testways.StrictApp, "alice", 62), trtc.CodePrivateMapKeyEmpty},
		{"a key for another room", followData(testways.StrictApp, "alice", 63, key("alice", tlssig.PrivAll)), trtc.CodePrivateMapKeyIncorrect},
		{"a key without the enter bit", followData(testways.StrictApp, "alice", 62, key("alice", tlssig.PrivAll&^tlssig.PrivEnterRoom)), trtc.CodeNoEnterRoomPrivilege},
		{"the enter bit alone, in a room nobody is in", followData(testways.StrictApp, "alice", 62, key("alice", tlssig.PrivEnterRoom)), trtc.CodeOK},
	} {
		c := s.DialWS(t)
		if r := c.Request("follow", tc.data); r.Code != tc.code {
			t.Errorf("%s: code %d (%s), want %d", tc.story, r.Code, r.Message, tc.code)
		}
	}
	if s.Rooms.Exists(trtc.RoomKey(testways.StrictApp, room)) {
		t.Fatal("following created the room")
	}

	c := s.DialWS(t)
	if r := c.Join(joinData(testways.OpenApp, "amy", 64)); r.Code != 0 {
		t.Fatal(r.Message)
	}
	if r := c.Request("follow", followData(testways.OpenApp, "amy", 64)); r.Code != trtc.CodeParamCheckFailed {
		t.Fatalf("a member follows: %d %s", r.Code, r.Message)
	}
	if r := c.Request("leave", nil); r.Code != 0 {
		t.Fatal(r.Message)
	}
	if r := c.Request("publish", ws.SDPData{SDP: "v=0"}); r.Code != trtc.CodeUserLeft {
		t.Fatalf("publish after leaving: %d %s, want %d (user already left)", r.Code, r.Message, trtc.CodeUserLeft)
	}
}

// A follower that joins is an ordinary member from then on: it hears each
// event once, as a member.
func TestAFollowerThatJoinsHearsEachEventOnce(t *testing.T) {
	s := testways.Start(t, 0, nil)
	c := s.DialWS(t)
	if r := c.Request("follow", followData(testways.OpenApp, "amy", 65)); r.Code != 0 {
		t.Fatal(r.Message)
	}
	if r := c.Join(joinData(testways.OpenApp, "amy", 65)); r.Code != 0 {
		t.Fatal(r.Message)
	}
	other := s.DialWS(t)
	if r := other.Join(joinData(testways.OpenApp, "ben", 65)); r.Code != 0 {
		t.Fatal(r.Message)
	}
	c.Request("members", nil) // orders the events before its reply
	if n := c.Count(trtc.EventMemberJoin); n != 1 {
		t.Fatalf("the joined follower heard ben join %d times", n)
	}
}
