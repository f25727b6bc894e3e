package whip_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

const (
	fillMain   = testpeer.FillMain
	fillSmall  = testpeer.FillSmall
	fillScreen = testpeer.FillScreen
)

// publishFilled offers audio (with the first stream, unless audio is
// false) and one video section per fill, posts the offer to a WHIP url and
// runs the sources; it returns the reply, with the session's Location.
func publishFilled(t *testing.T, url, token string, audio bool, fills ...byte) testways.Reply {
	t.Helper()
	pc := testpeer.NewPeer(t, testpeer.Options{})
	testpeer.SendFills(t, pc, audio, fills...)
	testpeer.Offer(t, pc)
	r := testways.Post(t, url, token, "application/sdp", pc.LocalDescription().SDP)
	if r.Status == http.StatusCreated {
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.Body}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// playFilled plays a WHEP url (audio and one video section) and counts
// the video packets of each test stream it gets.
func playFilled(t *testing.T, url, token string) (got *testpeer.FillCounts, r testways.Reply) {
	t.Helper()
	pc, offer, _ := testways.Offer(t, false, testpeer.Options{})
	got = testpeer.CountFills(pc)
	testpeer.WaitFor(t, "the WHEP answer from "+url, 10*time.Second, func() bool {
		r = testways.Post(t, url, token, "application/sdp", offer)
		return r.Status != http.StatusNotFound
	})
	if r.Status == http.StatusCreated {
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.Body}); err != nil {
			t.Fatal(err)
		}
	}
	return got, r
}

// A teacher publishes her camera with a small stream (?video=main,small)
// and then her screen (?stream=aux) beside it: WHEP viewers choose the
// main video, the small one (?stream=small) or the screen (?stream=aux),
// and each gets that stream only. When the camera's session ends, she has
// left the room, and her screen share ends with her.
func TestWHIPScreenShareBesideTheCameraAndWHEPChoosesTheStream(t *testing.T) {
	s := startWHIP(t, nil)
	room := tlssig.Room{ID: 919}
	key := func(user string, p tlssig.Privilege) string {
		return "privateMapKey=" + testways.PrivateMapKey(strict, user, room, p, time.Hour)
	}
	whipURL := func(query string) string { return fmt.Sprintf("%s/whip/%d/919/teacher?%s", s.URL, strict, query) }
	whepURL := func(query string) string {
		return fmt.Sprintf("%s/whep/%d/919/teacher?userId=pupil&%s", s.URL, strict, query)
	}
	sig := testways.UserSig(strict, "teacher", time.Hour)
	viewerSig := testways.UserSig(strict, "pupil", time.Hour)

	// Before she is in the room, her screen has nothing to go beside.
	if r := publishFilled(t, whipURL("stream=aux&"+key("teacher", tlssig.PrivAll)), sig, false, fillScreen); r.Status != http.StatusConflict || r.Code != trtc.CodeParamCheckFailed {
		t.Fatalf("a screen share before the camera: HTTP %d code %d %s, want 409 and %d", r.Status, r.Code, r.Message, trtc.CodeParamCheckFailed)
	}
	camera := publishFilled(t, whipURL("video=main,small&"+key("teacher", tlssig.PrivAll)), sig, true, fillMain, fillSmall)
	if camera.Status != http.StatusCreated {
		t.Fatalf("camera with a small stream: %+v", camera)
	}
	screen := publishFilled(t, whipURL("stream=aux&"+key("teacher", tlssig.PrivAll)), sig, false, fillScreen)
	if screen.Status != http.StatusCreated {
		t.Fatalf("screen share: %+v", screen)
	}
	waitUntil(t, "the teacher's main, small and screen streams", 5*time.Second, func() bool {
		for _, m := range s.Rooms.RoomMembers(s.Rooms.Find(strict, "", room)) {
			if m.UserID == "teacher" && m.Video && m.Small && m.Sub {
				return true
			}
		}
		return false
	})

	pupil := key("pupil", tlssig.PrivEnterRoom|tlssig.PrivRecvAudio|tlssig.PrivRecvVideo|tlssig.PrivRecvSubVideo)
	for _, tc := range []struct {
		stream string
		want   byte
	}{{"", fillMain}, {"stream=small", fillSmall}, {"stream=aux", fillScreen}} {
		got, r := playFilled(t, whepURL(tc.stream+"&"+pupil), viewerSig)
		if r.Status != http.StatusCreated {
			t.Fatalf("WHEP %q: %+v", tc.stream, r)
		}
		waitUntil(t, fmt.Sprintf("WHEP %q: 50 packets of its stream", tc.stream), 8*time.Second, func() bool { return got.Any(tc.want) > 50 })
		for _, other := range []byte{fillMain, fillSmall, fillScreen} {
			if n := got.Any(other); other != tc.want && n != 0 {
				t.Errorf("WHEP %q: %d packets of another stream", tc.stream, n)
			}
		}
	}

	if code := del(t, s, camera.Location); code != http.StatusOK {
		t.Fatalf("DELETE the camera: %d", code)
	}
	waitUntil(t, "the screen share to end with its member", 5*time.Second, func() bool { return del(t, s, screen.Location) == http.StatusNotFound })
}

// The privileges of the sub-stream, and the parameters' rules: a key
// without bit 64 cannot share the screen (102013), one without bit 128
// cannot play it (102019); a malformed stream choice is a parameter error.
func TestWHIPAndWHEPStreamRules(t *testing.T) {
	s := startWHIP(t, nil)
	room := tlssig.Room{ID: 920}
	key := func(user string, p tlssig.Privilege) string {
		return "privateMapKey=" + testways.PrivateMapKey(strict, user, room, p, time.Hour)
	}
	whipURL := func(user, query string) string {
		return fmt.Sprintf("%s/whip/%d/920/%s?%s", s.URL, strict, user, query)
	}
	if r := publishFilled(t, whipURL("teacher", key("teacher", tlssig.PrivAll)), testways.UserSig(strict, "teacher", time.Hour), true, fillMain); r.Status != http.StatusCreated {
		t.Fatalf("camera: %+v", r)
	}
	// The teacher's screen shares are checked beside her camera; the
	// camera publishes are a guest's (a refused WHIP publish still enters,
	// and would replace the teacher's member).
	noSub := tlssig.PrivAll &^ tlssig.PrivSendSubVideo
	for _, tc := range []struct {
		story  string
		user   string
		query  string
		audio  bool
		fills  []byte
		status int
		code   trtc.Code
	}{
		{"a screen share without the send-sub-stream bit (64)", "teacher", "stream=aux&" + key("teacher", noSub), false, []byte{fillScreen}, 403, trtc.CodeNoSendVideoPrivilege},
		{"a screen share that sends audio too", "teacher", "stream=aux&" + key("teacher", tlssig.PrivAll), true, []byte{fillScreen}, 400, trtc.CodeParamCheckFailed},
		{"a camera publish whose second section is the screen, without bit 64", "guest", "video=main,aux&" + key("guest", noSub), true, []byte{fillMain, fillScreen}, 403, trtc.CodeNoSendVideoPrivilege},
		{"stream=small alone", "guest", "stream=small&" + key("guest", tlssig.PrivAll), false, []byte{fillSmall}, 400, trtc.CodeParamCheckFailed},
		{"an unknown stream", "guest", "stream=side&" + key("guest", tlssig.PrivAll), true, []byte{fillMain}, 400, trtc.CodeParamCheckFailed},
		{"the same stream twice", "guest", "video=main,main&" + key("guest", tlssig.PrivAll), true, []byte{fillMain, fillSmall}, 400, trtc.CodeParamCheckFailed},
		{"more video sections than named", "guest", "video=main&" + key("guest", tlssig.PrivAll), true, []byte{fillMain, fillSmall}, 400, trtc.CodeParamCheckFailed},
	} {
		r := publishFilled(t, whipURL(tc.user, tc.query), testways.UserSig(strict, tc.user, time.Hour), tc.audio, tc.fills...)
		if r.Status != tc.status || r.Code != tc.code {
			t.Errorf("%s: HTTP %d code %d (%s), want HTTP %d code %d", tc.story, r.Status, r.Code, r.Message, tc.status, tc.code)
		}
	}
	// The refused screen shares replaced nothing: the camera still flows.
	got, r := playFilled(t, fmt.Sprintf("%s/whep/%d/920/teacher?userId=v1&%s", s.URL, strict, key("v1", tlssig.PrivAll)), testways.UserSig(strict, "v1", time.Hour))
	if r.Status != http.StatusCreated {
		t.Fatalf("WHEP main: %+v", r)
	}
	waitUntil(t, "the camera after the refusals", 8*time.Second, func() bool { return got.Any(fillMain) > 20 })

	noRecvSub := tlssig.PrivAll &^ tlssig.PrivRecvSubVideo
	for _, tc := range []struct {
		story  string
		query  string
		status int
		code   trtc.Code
		says   string
	}{
		{"playing the screen without the receive-sub-stream bit (128)", "stream=aux&" + key("v2", noRecvSub), 403, trtc.CodeNoRecvVideoPrivilege, "bit 128"},
		{"an unknown stream", "stream=side&" + key("v2", tlssig.PrivAll), 400, trtc.CodeParamCheckFailed, "side"},
	} {
		_, r := playFilled(t, fmt.Sprintf("%s/whep/%d/920/teacher?userId=v2&%s", s.URL, strict, tc.query), testways.UserSig(strict, "v2", time.Hour))
		if r.Status != tc.status || r.Code != tc.code || !strings.Contains(r.Message, tc.says) {
			t.Errorf("%s: HTTP %d code %d (%s), want HTTP %d code %d", tc.story, r.Status, r.Code, r.Message, tc.status, tc.code)
		}
	}
}
