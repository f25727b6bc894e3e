package e2e

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trtcd/trtcd/internal/testserver"
	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/server"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

//go:embed testdata
var pages embed.FS

const (
	app    = 1400000001
	appKey = "c1d2e3f405162738495a6b7c8d9eafb0c1d2e3f405162738495a6b7c8d9eafb0"
)

// startTrtcd runs a whole trtcd on loopback with the test app, RTMP and
// ICE-TCP; it shuts down with the test.
func startTrtcd(t *testing.T) *server.Server { return startTrtcdWith(t, nil) }

// startTrtcdWith is startTrtcd with change applied to the configuration.
func startTrtcdWith(t *testing.T, change func(*server.Config)) *server.Server {
	t.Helper()
	cfg := testserver.Config(t, app, appKey)
	cfg.Media.TCPAddr = "127.0.0.1:0"
	cfg.Bitrate = wayin.DefaultBitrateLimits
	cfg.Version = "e2e"
	if change != nil {
		change(&cfg)
	}
	return testserver.Start(t, cfg)
}

// chromium starts headless Debian Chromium with a fake camera and
// microphone, allowed to use loopback for WebRTC.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed (make test installs Debian's package)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
	}
	for _, f := range []string{"headless", "no-sandbox", "disable-gpu", "no-first-run", "disable-quic",
		"disable-background-networking", "disable-component-update", "disable-sync", "disable-extensions",
		"use-fake-device-for-media-stream", "use-fake-ui-for-media-stream", "allow-loopback-in-peer-connection",
		"autoplay-policy=no-user-gesture-required", "disable-background-timer-throttling",
		"disable-renderer-backgrounding", "disable-backgrounding-occluded-windows", "mute-audio"} {
		name, value, ok := cutFlag(f)
		if ok {
			opts = append(opts, chromedp.Flag(name, value))
		} else {
			opts = append(opts, chromedp.Flag(name, true))
		}
	}
	if f := "headless"; true {
		opts = append(opts, chromedp.Flag(f, "new"))
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return browser
}

func cutFlag(f string) (string, string, bool) {
	for i := range f {
		if f[i] == '=' {
			return f[:i], f[i+1:], true
		}
	}
	return f, "", false
}

// tab opens a test page in a new tab and runs fn (publish or play) in it.
func tab(t *testing.T, browser context.Context, pagesURL, role, endpoint, token string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	u := fmt.Sprintf("%s/page.html?role=%s&url=%s&token=%s", pagesURL, role, url.QueryEscape(endpoint), url.QueryEscape(token))
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		t.Fatal(err)
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[string](role+"()", chromedp.EvalAwaitPromise))
	if err != nil || res != "ok" {
		t.Fatalf("%s in the browser: %v %s", role, err, res)
	}
	return ctx
}

type rtpStats struct {
	Bytes, Packets, FramesDecoded, FramesEncoded, Samples float64
	Codec                                                 string
}

func pageStats(t *testing.T, ctx context.Context) (map[string]rtpStats, string) {
	t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string]("stats()", chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	json.Unmarshal([]byte(raw), &m)
	out := map[string]rtpStats{}
	state := ""
	for k, v := range m {
		if k == "state" {
			json.Unmarshal(v, &state)
			continue
		}
		var s struct {
			Bytes, Packets, FramesDecoded, FramesEncoded, Samples float64
			Codec                                                 string
		}
		json.Unmarshal(v, &s)
		out[k] = rtpStats(s)
	}
	return out, state
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("TRTCD_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 gives PNG
	if err == nil {
		os.WriteFile(filepath.Join(dir, name), png, 0o644)
	}
}

// Chromium publishes its fake camera and microphone over WHIP and a second
// tab plays it over WHEP: the viewer decodes frames and hears audio, and
// the publisher keeps its video under the maxBitrate it asked for.
func TestChromiumPublishesAndPlaysThroughTrtcd(t *testing.T) {
	srv := startTrtcd(t)
	sub, _ := fs.Sub(pages, "testdata")
	site := httptest.NewServer(http.FileServer(http.FS(sub))) // another origin: CORS is exercised
	t.Cleanup(site.Close)
	browser := chromium(t)
	api := "http://" + srv.HTTPAddr().String()
	sig := func(user string) string { return tlssig.GenUserSig(appKey, app, user, time.Hour, time.Now()) }
	// A cap below what Chromium's encoder makes of its 720p test pattern, so
	// the test shows the cap holding.
	const minKbps, maxKbps = 100, 100

	pub := tab(t, browser, site.URL, "publish", fmt.Sprintf("%s/whip/%d/4242/alice?minBitrate=%d&maxBitrate=%d", api, app, minKbps, maxKbps), sig("alice"))
	var viewer context.Context
	deadline := time.Now().Add(15 * time.Second)
	for viewer == nil {
		if s, state := pageStats(t, pub); state == "connected" && s["outbound-rtp-video"].Packets > 0 {
			viewer = tab(t, browser, site.URL, "play", fmt.Sprintf("%s/whep/%d/4242/alice?userId=bob", api, app), sig("bob"))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the publisher did not connect")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Let the publisher's bandwidth estimate ramp up, then measure.
	time.Sleep(6 * time.Second)
	p0, _ := pageStats(t, pub)
	v0, _ := pageStats(t, viewer)
	const window = 6 * time.Second
	time.Sleep(window)
	p1, _ := pageStats(t, pub)
	v1, state := pageStats(t, viewer)
	screenshot(t, viewer, "viewer.png")
	screenshot(t, pub, "publisher.png")

	video, audio := v1["inbound-rtp-video"], v1["inbound-rtp-audio"]
	sentKbps := (p1["outbound-rtp-video"].Bytes - p0["outbound-rtp-video"].Bytes) * 8 / window.Seconds() / 1000
	t.Logf("viewer %s: video %s, %.0f frames decoded (+%.0f in %s); audio %s, %.0f packets; publisher sent video at %.0f kbps (max %d)",
		state, video.Codec, video.FramesDecoded, video.FramesDecoded-v0["inbound-rtp-video"].FramesDecoded, window,
		audio.Codec, audio.Packets, sentKbps, maxKbps)
	if video.FramesDecoded-v0["inbound-rtp-video"].FramesDecoded < 50 {
		t.Errorf("the viewer decoded %.0f frames in %s, want a steady stream", video.FramesDecoded-v0["inbound-rtp-video"].FramesDecoded, window)
	}
	if audio.Packets-v0["inbound-rtp-audio"].Packets < 100 {
		t.Errorf("the viewer received %.0f audio packets in %s", audio.Packets-v0["inbound-rtp-audio"].Packets, window)
	}
	if sentKbps > maxKbps*1.1 {
		t.Errorf("the publisher sent %.0f kbps of video, above maxBitrate %d + 10%%", sentKbps, maxKbps)
	}
	if sentKbps < 50 {
		t.Errorf("the publisher sent only %.0f kbps of video", sentKbps)
	}
	if dc, err := chromedp.Run(viewer, chromedp.Evaluate[string]("window.dataChannel.readyState")); err != nil || dc == "open" {
		t.Errorf("the viewer's data channel: %q (%v), want it refused", dc, err)
	}

	// The operator sees the same in /metrics.
	metrics := scrape(t, api+"/metrics")
	for name, min := range map[string]float64{
		"trtcd_sfu_rooms": 1, "trtcd_sfu_participants": 2, "trtcd_sfu_tracks": 2,
		"trtcd_sfu_packets_forwarded_total": 500, "trtcd_sfu_keyframe_requests_total": 1,
		"trtcd_sfu_forwarding_latency_seconds_count": 10,
	} {
		if metrics[name] < min {
			t.Errorf("/metrics: %s = %v, want ≥ %v", name, metrics[name], min)
		}
	}
}

// scrape reads the unlabelled samples of a Prometheus text page.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		var name string
		var v float64
		if _, err := fmt.Sscanf(line, "%s %g", &name, &v); err == nil && !strings.HasPrefix(name, "#") {
			out[name] = v
		}
	}
	return out
}
