package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testpeer"
)

// remoteTone is JavaScript for the demo page: the dominant frequency of the
// audio it plays from the other member (Web Audio on #remote-video's
// stream, over one second).
const remoteTone = `(async () => {
  const stream = document.getElementById('remote-video').srcObject;
  if (!stream || !stream.getAudioTracks().length) return 0;
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 8192;
  ctx.createMediaStreamSource(stream).connect(analyser);
  await new Promise(r => setTimeout(r, 1000));
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  const hz = ctx.sampleRate / analyser.fftSize;
  let best = 0;
  for (let i = Math.ceil(100 / hz); i < 2000 / hz; i++) if (bins[i] > bins[best]) best = i;
  const level = bins[best];
  ctx.close();
  return level > -80 ? best * hz : 0;
})()`

// (b) A webrtc-room component and the browser demo page (web/static, served
// by trtcd, in headless Chromium) share a room: the component's player
// decodes the page's video and hears its microphone's beep, and the page
// decodes the component's video and hears its 660 Hz tone.
func TestMiniProgramWithBrowserDemo(t *testing.T) {
	srv := startDevTrtcd(t)
	mp := startMiniprogram(t, srv, appKey)
	browser := chromium(t)
	page := openAndJoin(t, browser, "http://"+srv.HTTPAddr().String()+"/?roomId=8600&layout=1v1bigsmall")
	waitPage(t, page, "the demo page to join", `window.demo.joined`)
	peer := eval[string](t, page, "window.demo.userId")

	// Chromium's fake microphone beeps at 400 Hz.
	sc := mp.start(t, "webrtc_room_browser.js", "TRTCD_PEER="+peer, "TRTCD_PEER_TONE=400", "TRTCD_ROOM=8600")
	sc.waitLine(t, "the component plays the browser", 45*time.Second)

	var s demoStats
	testpeer.WaitFor(t, "the page decoding the component's video and receiving its audio", 30*time.Second, func() bool {
		s = statsOf(t, page)
		return s.InVideoFrames > 30 && s.InAudioPackets > 50
	})
	var hz float64
	testpeer.WaitFor(t, "the page hearing the component's 660 Hz tone", 20*time.Second, func() bool {
		hz = eval[float64](t, page, remoteTone)
		return hz > 660*0.95 && hz < 660*1.05
	})
	name := eval[string](t, page, "document.getElementById('remote-name').textContent")
	if name != "mini" {
		t.Errorf("the page shows %q as the other member, want mini", name)
	}
	b, _ := json.Marshal(s)
	t.Logf("the page decodes the component: %s, tone %.0f Hz", b, hz)
	saveScreenshot(t, page, "miniprogram-with-demo.png")
	sc.stdin.Close() // the scenario stops its component and ends
	sc.wait(t)
}
