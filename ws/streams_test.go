package ws_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/internal/testws"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
	"github.com/trtcd/trtcd/ws"
)

const (
	fillMain   = testpeer.FillMain
	fillSmall  = testpeer.FillSmall
	fillScreen = testpeer.FillScreen
)

// publishOver publishes from a new pion client over c: audio with the
// first stream (when audio), and one video section per fill, named by
// video. It returns the reply.
func publishOver(t *testing.T, c *testws.Client, audio bool, video []string, fills ...byte) ws.Reply {
	t.Helper()
	pc := testpeer.NewPeer(t, testpeer.Options{})
	testpeer.SendFills(t, pc, audio, fills...)
	testpeer.Offer(t, pc)
	r := c.Request("publish", ws.PublishData{SDP: pc.LocalDescription().SDP, Video: video})
	if r.Code == 0 {
		setAnswer(t, pc, r)
	}
	return r
}

func setAnswer(t *testing.T, pc *webrtc.PeerConnection, r ws.Reply) {
	t.Helper()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.Data.(map[string]any)["sdp"].(string)}); err != nil {
		t.Fatal(err)
	}
}

// subscribeOver subscribes c to publisher with a new pion client offering
// audio and videoSections video sections.
func subscribeOver(t *testing.T, c *testws.Client, videoSections int, d ws.SubscribeData) (*testpeer.FillCounts, ws.Reply) {
	t.Helper()
	pc := testpeer.NewPeer(t, testpeer.Options{})
	testpeer.ReceiveVideo(t, pc, videoSections, true)
	v := testpeer.CountFills(pc)
	testpeer.Offer(t, pc)
	d.SDP = pc.LocalDescription().SDP
	r := c.Request("subscribe", d)
	if r.Code == 0 {
		setAnswer(t, pc, r)
	}
	return v, r
}

// sawStream reports whether c has been told (stream-add or stream-remove,
// by name) that user's stream of kind changed; the event stays.
func sawStream(c *testws.Client, name, user, kind string) bool {
	for _, e := range c.Events() {
		var d map[string]any
		b, _ := json.Marshal(e.Data)
		json.Unmarshal(b, &d)
		if e.Event == name && d["userId"] == user && d["kind"] == kind {
			return true
		}
	}
	return false
}

// The SSRC tags of a subscriber's video sections.
const (
	tagVideo  = 0x02
	tagScreen = 0x07
)

// A teacher on /ws publishes her camera with a small stream, then shares
// her screen on a second PeerConnection: her camera goes on. A student
// subscribes to the small stream with the screen in a second section,
// switches to the big stream with setVideo, and sees the share end while
// the camera stays.
func TestWebSocketScreenShareAndSmallStream(t *testing.T) {
	s := testways.Start(t, 0, nil)
	teacher, student := s.DialWS(t), s.DialWS(t)
	for _, c := range []struct {
		conn *testws.Client
		user string
	}{{teacher, "teacher"}, {student, "student"}} {
		if r := c.conn.Join(joinData(testways.OpenApp, c.user, 404)); r.Code != 0 {
			t.Fatalf("%s joins: %d %s", c.user, r.Code, r.Message)
		}
	}
	if r := publishOver(t, teacher, true, []string{"main", "small"}, fillMain, fillSmall); r.Code != 0 {
		t.Fatalf("camera with a small stream: %d %s", r.Code, r.Message)
	}
	if r := publishOver(t, teacher, false, []string{"sub"}, fillScreen); r.Code != 0 {
		t.Fatalf("screen share: %d %s", r.Code, r.Message)
	}
	for _, kind := range []string{"audio", "video", "small", "sub"} {
		testpeer.WaitFor(t, "the student told of the teacher's "+kind, 5*time.Second, func() bool {
			return sawStream(student, trtc.EventStreamAdd, "teacher", kind)
		})
	}

	v, r := subscribeOver(t, student, 2, ws.SubscribeData{UserID: "teacher", Video: "small", Sub: true})
	if r.Code != 0 {
		t.Fatalf("subscribe: %d %s", r.Code, r.Message)
	}
	testpeer.WaitFor(t, "the small stream and the screen at once", 8*time.Second, func() bool {
		return v.Count(tagVideo, fillSmall) > 20 && v.Count(tagScreen, fillScreen) > 20
	})
	if r := student.Request("setVideo", ws.SetVideoData{UserID: "teacher", Video: "big"}); r.Code != 0 {
		t.Fatalf("setVideo big: %d %s", r.Code, r.Message)
	}
	testpeer.WaitFor(t, "the big stream in the first section", 8*time.Second, func() bool { return v.Count(tagVideo, fillMain) > 20 })
	if n := v.Count(tagScreen, fillMain) + v.Count(tagScreen, fillSmall) + v.Count(tagVideo, fillScreen); n != 0 {
		t.Errorf("%d packets went to the wrong section", n)
	}

	if r := teacher.Request("unpublish", ws.UnpublishData{Screen: true}); r.Code != 0 {
		t.Fatalf("unpublish the screen: %d %s", r.Code, r.Message)
	}
	testpeer.WaitFor(t, "the student told the screen share ended", 5*time.Second, func() bool {
		return sawStream(student, trtc.EventStreamRemove, "teacher", "sub")
	})
	before := v.Count(tagVideo, fillMain)
	testpeer.WaitFor(t, "the camera to go on", 5*time.Second, func() bool { return v.Count(tagVideo, fillMain) > before+20 })
	if sawStream(student, trtc.EventStreamRemove, "teacher", "video") {
		t.Error("ending the screen share ended the camera")
	}
}

// The sub-stream's privileges and the new fields' rules over /ws: sharing
// the screen needs bit 64 (102013), receiving it bit 128 (102019); a
// subscription's screen section without bit 128 is answered but not fed.
func TestWebSocketStreamRules(t *testing.T) {
	s := testways.Start(t, 0, nil)
	room := tlssig.Room{ID: 405}
	withKey := func(user string, p tlssig.Privilege) ws.JoinData {
		return joinData(testways.StrictApp, user, 405, func(d *ws.JoinData) {
			d.PrivateMapKey = testways.PrivateMapKey(testways.StrictApp, user, room, p, time.Hour)
		})
	}
	teacher := s.DialWS(t)
	if r := teacher.Join(withKey("teacher", tlssig.PrivAll)); r.Code != 0 {
		t.Fatal(r.Message)
	}
	if r := publishOver(t, teacher, true, nil, fillMain); r.Code != 0 {
		t.Fatalf("camera: %d %s", r.Code, r.Message)
	}
	if r := publishOver(t, teacher, false, []string{"sub"}, fillScreen); r.Code != 0 {
		t.Fatalf("screen: %d %s", r.Code, r.Message)
	}

	noSendSub := s.DialWS(t)
	noSendSub.Join(withKey("nosend", tlssig.PrivAll&^tlssig.PrivSendSubVideo))
	if r := publishOver(t, noSendSub, false, []string{"sub"}, fillScreen); r.Code != trtc.CodeNoSendVideoPrivilege {
		t.Errorf("a screen share without bit 64: code %d (%s), want %d", r.Code, r.Message, trtc.CodeNoSendVideoPrivilege)
	}
	for _, tc := range []struct {
		story string
		audio bool
		video []string
		fills []byte
	}{
		{"the same stream twice", true, []string{"main", "main"}, []byte{fillMain, fillSmall}},
		{"an unknown stream", true, []string{"side"}, []byte{fillMain}},
		{"a screen share that sends audio", true, []string{"sub"}, []byte{fillScreen}},
	} {
		if r := publishOver(t, noSendSub, tc.audio, tc.video, tc.fills...); r.Code != trtc.CodeParamCheckFailed {
			t.Errorf("%s: code %d (%s), want %d", tc.story, r.Code, r.Message, trtc.CodeParamCheckFailed)
		}
	}

	noRecvSub := s.DialWS(t)
	noRecvSub.Join(withKey("norecv", tlssig.PrivAll&^tlssig.PrivRecvSubVideo))
	if _, r := subscribeOver(t, noRecvSub, 1, ws.SubscribeData{UserID: "teacher", Video: "sub"}); r.Code != trtc.CodeNoRecvVideoPrivilege {
		t.Errorf("the screen without bit 128: code %d (%s), want %d", r.Code, r.Message, trtc.CodeNoRecvVideoPrivilege)
	}
	v, r := subscribeOver(t, noRecvSub, 2, ws.SubscribeData{UserID: "teacher", Sub: true})
	if r.Code != 0 {
		t.Fatalf("a subscription with a screen section, without bit 128: code %d (%s)", r.Code, r.Message)
	}
	testpeer.WaitFor(t, "the camera without bit 128", 8*time.Second, func() bool { return v.Count(tagVideo, fillMain) > 20 })
	for _, tag := range []byte{tagVideo, tagScreen} {
		if n := v.Count(tag, fillScreen); n != 0 {
			t.Errorf("a viewer without bit 128 got %d packets of the screen", n)
		}
	}
	for _, tc := range []struct {
		story string
		data  ws.SetVideoData
	}{
		{"setVideo to the screen", ws.SetVideoData{UserID: "teacher", Video: "sub"}},
		{"setVideo to a stream that does not exist", ws.SetVideoData{UserID: "teacher", Video: "side"}},
		{"setVideo for a publisher not subscribed to", ws.SetVideoData{UserID: "nobody", Video: "small"}},
	} {
		if r := noRecvSub.Request("setVideo", tc.data); r.Code != trtc.CodeParamCheckFailed {
			t.Errorf("%s: code %d (%s), want %d", tc.story, r.Code, r.Message, trtc.CodeParamCheckFailed)
		}
	}
}
