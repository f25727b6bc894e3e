package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// A teacher shares her screen from the classroom page (its Share button:
// getDisplayMedia, which headless Chromium answers with its fake 800x600
// desktop under --use-fake-ui-for-media-stream and
// --use-fake-device-for-media-stream, the flags every browser test runs
// with). A student's page decodes the screen and the teacher's camera at
// once, the screen in the big tile and the camera in the first thumbnail.
// A WHEP player (pion) plays the same screen with ?stream=aux. When she
// stops sharing, the student's big tile goes back to her camera, which
// never stopped.
func TestClassroomTeacherSharesScreen(t *testing.T) {
	srv := startDevTrtcd(t)
	browser := chromium(t)
	base := "http://" + srv.HTTPAddr().String()
	class := base + "/classroom.html?classId=3201"

	teacher := classPage(t, browser, "the teacher", class+"&role=teacher&userId=ms-wu")
	student := classPage(t, browser, "the student", class+"&userId=leo")
	waitPage(t, teacher, "the teacher's camera to be published and the Share button shown",
		`window.classroom.tic.getTrtcClient().publisher && !document.getElementById('share').hidden`)
	eval[bool](t, teacher, `document.getElementById('share').click() || true`)
	waitPage(t, teacher, "the screen share to be published",
		`window.classroom.tic.getTrtcClient().screen && document.getElementById('share').getAttribute('aria-pressed') === 'true'`)

	// Both videos decode, and go on decoding, at the same time.
	video := func() (camera, screen float64) {
		var v map[string]struct{ Camera, Screen float64 }
		json.Unmarshal([]byte(eval[string](t, student, `window.classroomVideo()`)), &v)
		return v["ms-wu"].Camera, v["ms-wu"].Screen
	}
	testpeer.WaitFor(t, "the student to decode the teacher's camera and screen", 20*time.Second, func() bool {
		c, s := video()
		return c > 20 && s > 20
	})
	c0, s0 := video()
	testpeer.WaitFor(t, "both to keep decoding", 15*time.Second, func() bool {
		c, s := video()
		return c > c0+15 && s > s0+15
	})
	waitPage(t, student, "the screen in the big tile and the camera in the first thumbnail", `(() => {
		const r = window.classroom.tic.getTrtcClient().remote.get('ms-wu');
		const thumb = document.querySelector('#thumbs video');
		return document.getElementById('remote-tile').classList.contains('screen') &&
			document.getElementById('remote-video').srcObject === r.screen && thumb && thumb.srcObject === r.stream;
	})()`)
	saveScreenshot(t, student, "classroom-screen-share.png")

	t.Run("a WHEP player plays the screen", func(t *testing.T) {
		frames := playScreen(t, fmt.Sprintf("%s/whep/%d/3201/ms-wu?userId=whep-viewer&stream=aux", base, app),
			tlssig.GenUserSig(appKey, app, "whep-viewer", time.Hour, time.Now()))
		testpeer.WaitFor(t, "30 frames of the screen at the WHEP player", 15*time.Second, func() bool { return frames.Load() > 30 })
	})

	eval[bool](t, teacher, `document.getElementById('share').click() || true`)
	waitPage(t, student, "the big tile to go back to the teacher's camera", `(() => {
		const r = window.classroom.tic.getTrtcClient().remote.get('ms-wu');
		return !document.getElementById('remote-tile').classList.contains('screen') && document.getElementById('remote-video').srcObject === r.stream;
	})()`)
	c1, _ := video()
	testpeer.WaitFor(t, "the camera to go on after the share", 15*time.Second, func() bool {
		c, _ := video()
		return c > c1+15
	})
}

// playScreen plays a WHEP url with a pion client (retrying while the
// stream comes up) and counts the video frames that arrive in the section
// tagged as the sub-stream (byte 2 of the SSRC is 7: the SFU tags what a
// section carries, as the TRTC Web SDK expects).
func playScreen(t *testing.T, url, token string) *atomic.Int64 {
	t.Helper()
	pc := testpeer.NewPeer(t, testpeer.Options{})
	if err := testpeer.ReceiveAudioVideo(pc); err != nil {
		t.Fatal(err)
	}
	var frames atomic.Int64
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeVideo || uint32(tr.SSRC())>>16&0xff != 7 {
			return
		}
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if p.Marker {
				frames.Add(1)
			}
		}
	})
	testpeer.Offer(t, pc)
	var answer string
	testpeer.WaitFor(t, "the WHEP answer", 15*time.Second, func() bool {
		var status int
		answer, _, status = testpeer.PostSDP(t, url, token, pc)
		return status == http.StatusCreated
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	return &frames
}

// On the 1v1 demo, alice turns on the small stream and bob chooses it: the
// video bob decodes shrinks to half the width, without a new subscription.
// Then alice presses "share screen": bob's big tile shows her screen and
// the small one at the top her camera, both decoding.
func TestDemoSmallStreamAndScreenShare(t *testing.T) {
	srv := startDevTrtcd(t)
	browser := chromium(t)
	alice := openAndJoin(t, browser, "http://"+srv.HTTPAddr().String()+"/?roomId=5601")
	waitPage(t, alice, "alice to join", `window.demo.joined && !!document.getElementById('invite-link').value`)
	bob := openAndJoin(t, browser, eval[string](t, alice, `document.getElementById('invite-link').value`))
	waitPage(t, bob, "bob to join", `window.demo.joined`)
	aliceID := eval[string](t, alice, `window.demo.userId`)

	// What bob decodes of alice: her camera's section and her screen's.
	decoded := func() (width, camera, screen float64) {
		var v struct{ Width, Camera, Screen float64 }
		json.Unmarshal([]byte(eval[string](t, bob, fmt.Sprintf(`(async () => {
			const r = window.demo.client.remote.get(%q);
			const out = {width: 0, camera: 0, screen: 0};
			if (!r) return JSON.stringify(out);
			(await r.videoTx.receiver.getStats()).forEach(s => { if (s.type === 'inbound-rtp') { out.width = s.frameWidth || 0; out.camera = s.framesDecoded || 0; } });
			(await r.screenTx.receiver.getStats()).forEach(s => { if (s.type === 'inbound-rtp') out.screen = s.framesDecoded || 0; });
			return JSON.stringify(out);
		})()`, aliceID))), &v)
		return v.Width, v.Camera, v.Screen
	}
	var big float64
	testpeer.WaitFor(t, "bob to decode alice's camera", 20*time.Second, func() bool {
		w, c, _ := decoded()
		big = w
		return c > 20 && w > 0
	})

	eval[bool](t, alice, `window.demo.client.enableSmallStream().then(() => true)`)
	waitPage(t, bob, "bob told alice publishes a small stream", fmt.Sprintf(`window.demo.client.members.get(%q)?.small`, aliceID))
	eval[bool](t, bob, fmt.Sprintf(`window.demo.client.setRemoteVideoStreamType(%q, 'small').then(() => true)`, aliceID))
	testpeer.WaitFor(t, "bob's video to shrink to the small stream", 20*time.Second, func() bool {
		w, _, _ := decoded()
		return w > 0 && w <= big/2
	})
	small, _, _ := decoded()
	t.Logf("bob decodes alice's video %.0f pixels wide, then %.0f with the small stream", big, small)

	eval[bool](t, alice, `document.getElementById('share').click() || true`)
	_, c0, _ := decoded()
	testpeer.WaitFor(t, "bob to decode alice's screen and camera at once", 20*time.Second, func() bool {
		_, c, s := decoded()
		return s > 20 && c > c0+15
	})
	waitPage(t, bob, "the screen in the big tile and the camera in the small one", fmt.Sprintf(`(() => {
		const r = window.demo.client.remote.get(%q);
		return document.getElementById('remote-video').srcObject === r.screen && !document.getElementById('pip-tile').hidden &&
			document.getElementById('pip-video').srcObject === r.stream;
	})()`, aliceID))
	saveScreenshot(t, bob, "demo-screen-share.png")
}
