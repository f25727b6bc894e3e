package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/security"
	"github.com/chromedp/chromedp"

	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/server"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// webSDKVersion is the TRTC Web SDK release trtcd's websdk package is
// written against (docs/trtc-web-sdk.md).
const webSDKVersion = "4.15.22"

// webSDK installs trtc-js-sdk from npm (npmPackages) and returns its
// trtc.js (TRTC_JS_SDK names a copy to use instead). It is never committed.
func webSDK(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TRTC_JS_SDK"); p != "" {
		return p
	}
	dir := npmPackages(t, "the Web SDK test fetches trtc-js-sdk@"+webSDKVersion+" with it", "trtc-js-sdk@"+webSDKVersion)
	return filepath.Join(dir, "node_modules", "trtc-js-sdk", "trtc.js")
}

// startWebSDKTrtcd starts trtcd with its TLS listener (a self-signed
// certificate in the data directory), which the SDK's proxies need.
func startWebSDKTrtcd(t *testing.T) *server.Server {
	return startTrtcdWith(t, func(c *server.Config) { c.HTTPSAddr = "127.0.0.1:0" })
}

// sdkSite serves the test page and the SDK from another origin than
// trtcd's, as an application's web server would.
func sdkSite(t *testing.T, sdk string) string {
	t.Helper()
	sub, _ := fs.Sub(pages, "testdata")
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.FS(sub)))
	mux.HandleFunc("/trtc.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, sdk) })
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)
	return site.URL
}

// sdkUser is the options of the page's start().
type sdkUser struct {
	SDKAppID        int    `json:"sdkAppId"`
	UserID          string `json:"userId"`
	UserSig         string `json:"userSig"`
	RoomID          any    `json:"roomId"`
	UseStringRoomID bool   `json:"useStringRoomId"`
	PrivateMapKey   string `json:"privateMapKey,omitempty"`
	Proxy           any    `json:"proxy"`
	Publish         bool   `json:"publish"`
}

// sdkPage opens the test page and runs start(); it returns the tab and
// what start() resolved to ("ok" or the SDK's error as JSON).
func sdkPage(t *testing.T, browser context.Context, site string, u sdkUser) (context.Context, string) {
	t.Helper()
	ctx := open(t, browser, site+"/websdk.html?"+u.UserID)
	// trtcd's development certificate is self-signed.
	if _, err := chromedp.CallBrowser(ctx, security.SetIgnoreCertificateErrors, security.SetIgnoreCertificateErrorsParams{Ignore: true}); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(u)
	return ctx, eval[string](t, ctx, "start("+string(b)+")")
}

type sdkStats struct {
	FramesDecoded, AudioPackets, AudioSamples, BytesSent float64
	VideoCodec                                           string
}

func sdkStatsOf(t *testing.T, ctx context.Context) sdkStats {
	var s sdkStats
	json.Unmarshal([]byte(eval[string](t, ctx, "stats()")), &s)
	return s
}

// waitPlaying waits until a page decodes remote video and receives remote
// audio, then checks that both keep growing.
func waitPlaying(t *testing.T, ctx context.Context, who string) sdkStats {
	t.Helper()
	var s0 sdkStats
	testpeer.WaitFor(t, who+" decoding remote video and receiving audio", 20*time.Second, func() bool {
		s0 = sdkStatsOf(t, ctx)
		return s0.FramesDecoded > 0 && s0.AudioPackets > 0
	})
	var s1 sdkStats
	testpeer.WaitFor(t, who+"'s remote video and audio to go on", 15*time.Second, func() bool {
		s1 = sdkStatsOf(t, ctx)
		return s1.FramesDecoded > s0.FramesDecoded && s1.AudioPackets > s0.AudioPackets
	})
	return s1
}

func wantEvent(t *testing.T, ctx context.Context, who, event string) {
	t.Helper()
	waitPage(t, ctx, who+" to see "+event, "has("+strconv.Quote(event)+")")
}

// The official TRTC Web SDK, unmodified and pointed at trtcd with
// setProxyServer, joins rooms, publishes, plays the others, sees mutes and
// leaves, in numeric and string rooms and with every proxy form; bad
// credentials fail join with the SDK's error; and a Web SDK user shares a
// room with a WHIP publisher and a WHEP viewer.
func TestWebSDK(t *testing.T) {
	sdk := webSDK(t)
	srv := startWebSDKTrtcd(t)
	site := sdkSite(t, sdk)
	browser := chromium(t)
	host := srv.HTTPSAddr().String()
	sig := func(user string) string { return tlssig.GenUserSig(appKey, app, user, time.Hour, time.Now()) }
	objectProxy := map[string]string{"websocketProxy": "wss://" + host + "/websdk", "loggerProxy": "https://" + host + "/websdk"}
	scheduleProxy := map[string]string{"scheduleProxy": host + "/websdk"}
	stringProxy := "wss://" + host + "/websdk"
	unifiedProxy := map[string]string{"unifiedProxy": host + "/websdk"}

	t.Run("numeric room", func(t *testing.T) {
		twoUsers(t, browser, site, 7100, false, objectProxy, scheduleProxy, sig)
	})
	t.Run("string room", func(t *testing.T) {
		twoUsers(t, browser, site, "class-7200", true, stringProxy, unifiedProxy, sig)
	})
	t.Run("bad credentials", func(t *testing.T) {
		witness, res := sdkPage(t, browser, site, sdkUser{SDKAppID: app, UserID: "witness", UserSig: sig("witness"), RoomID: 7300,
			Proxy: objectProxy, Publish: true})
		if res != "ok" {
			t.Fatalf("witness: %s", res)
		}
		forged := tlssig.GenUserSig("0000000000000000000000000000000000000000000000000000000000000000", app, "mallory", time.Hour, time.Now())
		expired := tlssig.GenPrivateMapKey(appKey, app, "trudy", time.Minute, time.Now().Add(-time.Hour), tlssig.Room{ID: 7300}, tlssig.PrivAll)
		for _, c := range []struct {
			user, userSig, pmk string
			extra              float64
		}{
			{"mallory", forged, "", float64(trtc.CodeUserSigCheckFailed)},
			{"trudy", sig("trudy"), expired, float64(trtc.CodePrivateMapKeyExpired)},
		} {
			page, res := sdkPage(t, browser, site, sdkUser{SDKAppID: app, UserID: c.user, UserSig: c.userSig, PrivateMapKey: c.pmk,
				RoomID: 7300, Proxy: objectProxy, Publish: true})
			var e struct {
				Code, ExtraCode float64
				Message         string
			}
			json.Unmarshal([]byte(res), &e)
			if e.Code != 16388 || e.ExtraCode != c.extra { // JOIN_ROOM_FAILED, trtcd's code as the extra code
				t.Errorf("%s: join gave %s, want code 16388 with extra code %v", c.user, res, c.extra)
			}
			time.Sleep(time.Second)
			if s := sdkStatsOf(t, page); s.FramesDecoded != 0 || s.BytesSent != 0 {
				t.Errorf("%s: media flows after a refused join: %+v", c.user, s)
			}
			if eval[bool](t, witness, "has('peer-join "+c.user+"')") {
				t.Errorf("the room saw %s join", c.user)
			}
		}
	})
	t.Run("with WHIP and WHEP", func(t *testing.T) {
		requireFFmpeg(t)
		base := "http://" + srv.HTTPAddr().String()
		publishFiles(t, base, "7400", "whip", "")
		page, res := sdkPage(t, browser, site, sdkUser{SDKAppID: app, UserID: "erin", UserSig: sig("erin"), RoomID: 7400,
			Proxy: objectProxy, Publish: true})
		if res != "ok" {
			t.Fatalf("erin: %s", res)
		}
		wantEvent(t, page, "erin", "stream-subscribed whip")
		if s := waitPlaying(t, page, "erin"); s.VideoCodec != "video/H264" {
			t.Errorf("erin decodes %q from the WHIP publisher, want video/H264", s.VideoCodec)
		}
		viewer := whepViewer(t, base, "7400", "erin", "viewer")
		testpeer.WaitFor(t, "the WHEP viewer receiving erin", 20*time.Second, func() bool {
			codec, pkts, audio, opus := viewer.snapshot()
			return codec == "video/H264" && pkts > 50 && audio != "" && len(opus) > 50
		})
		saveScreenshot(t, page, "websdk-whip.png")
	})
}

// twoUsers: alice and bob join one room through two proxy forms, each
// plays the other; alice's mutes reach bob; alice leaves and bob sees it.
func twoUsers(t *testing.T, browser context.Context, site string, room any, str bool, proxyA, proxyB any, sig func(string) string) {
	alice, res := sdkPage(t, browser, site, sdkUser{SDKAppID: app, UserID: "alice", UserSig: sig("alice"), RoomID: room,
		UseStringRoomID: str, Proxy: proxyA, Publish: true})
	if res != "ok" {
		t.Fatalf("alice: %s", res)
	}
	bob, res := sdkPage(t, browser, site, sdkUser{SDKAppID: app, UserID: "bob", UserSig: sig("bob"), RoomID: room,
		UseStringRoomID: str, Proxy: proxyB, Publish: true})
	if res != "ok" {
		t.Fatalf("bob: %s", res)
	}
	wantEvent(t, alice, "alice", "peer-join bob")
	for _, p := range []struct {
		ctx       context.Context
		who, peer string
	}{{alice, "alice", "bob"}, {bob, "bob", "alice"}} {
		wantEvent(t, p.ctx, p.who, "stream-added "+p.peer)
		wantEvent(t, p.ctx, p.who, "stream-subscribed "+p.peer)
		s := waitPlaying(t, p.ctx, p.who)
		t.Logf("%s plays %s: %+v", p.who, p.peer, s)
	}
	saveScreenshot(t, bob, fmt.Sprintf("websdk-%v-bob.png", room))

	for _, step := range []struct{ call, event string }{
		{"muteVideo()", "mute-video alice"},
		{"muteAudio()", "mute-audio alice"},
		{"unmuteVideo()", "unmute-video alice"},
		{"unmuteAudio()", "unmute-audio alice"},
	} {
		before := eval[float64](t, bob, "count("+strconv.Quote(step.event)+")")
		eval[string](t, alice, step.call)
		waitPage(t, bob, "bob to see "+step.event, fmt.Sprintf("count(%q) > %v", step.event, before))
	}

	eval[string](t, alice, "leave()")
	wantEvent(t, bob, "bob", "peer-leave alice")
	wantEvent(t, bob, "bob", "stream-removed alice")
	eval[string](t, bob, "leave()")
}
