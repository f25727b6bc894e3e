package e2e

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/security"
	"github.com/chromedp/chromedp"

	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// streamsUser is the options of websdk-streams.html's join().
type streamsUser struct {
	SDKAppID      int    `json:"sdkAppId"`
	UserID        string `json:"userId"`
	UserSig       string `json:"userSig"`
	RoomID        int    `json:"roomId"`
	PrivateMapKey string `json:"privateMapKey,omitempty"`
	Proxy         any    `json:"proxy"`
	Subscribe     *bool  `json:"subscribe,omitempty"`
	Small         bool   `json:"small,omitempty"`
}

// streamsSite is a Web SDK site, a browser and a way to join its pages.
type streamsSite struct {
	browser context.Context
	site    string
	proxy   map[string]string
}

func newStreamsSite(t *testing.T) *streamsSite {
	sdk := webSDK(t)
	srv := startWebSDKTrtcd(t)
	host := srv.HTTPSAddr().String()
	return &streamsSite{browser: chromium(t), site: sdkSite(t, sdk),
		proxy: map[string]string{"websocketProxy": "wss://" + host + "/websdk", "loggerProxy": "https://" + host + "/websdk"}}
}

// page opens websdk-streams.html for one person, for the length of
// subtest t: closing it then ends its clients, whose encoders and
// decoders would otherwise load the machine for the subtests after it.
func (s *streamsSite) page(t *testing.T, who string) context.Context {
	t.Helper()
	ctx := open(t, s.browser, s.site+"/websdk-streams.html?"+who)
	if _, err := chromedp.CallBrowser(ctx, security.SetIgnoreCertificateErrors, security.SetIgnoreCertificateErrorsParams{Ignore: true}); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// join joins a client on page with a userSig for u.UserID; the key, if
// any, carries privileges priv in room u.RoomID.
func (s *streamsSite) join(t *testing.T, page context.Context, u streamsUser, priv tlssig.Privilege) {
	t.Helper()
	u.SDKAppID, u.Proxy = app, s.proxy
	u.UserSig = tlssig.GenUserSig(appKey, app, u.UserID, time.Hour, time.Now())
	if priv != 0 {
		u.PrivateMapKey = tlssig.GenPrivateMapKey(appKey, app, u.UserID, time.Hour, time.Now(), tlssig.Room{ID: uint32(u.RoomID)}, priv)
	}
	b, _ := json.Marshal(u)
	if res := eval[string](t, page, "join("+string(b)+")"); res != "ok" {
		t.Fatalf("%s joining: %s", u.UserID, res)
	}
}

func publishOn(t *testing.T, page context.Context, user, what string) string {
	t.Helper()
	return eval[string](t, page, "publish("+strconv.Quote(user)+", "+strconv.Quote(what)+")")
}

type remoteVideo struct{ FrameWidth, FramesDecoded float64 }

// videoOf is what a page decodes of a remote stream ("<userId> main" or
// "<userId> auxiliary").
func videoOf(t *testing.T, page context.Context, key string) remoteVideo {
	var v remoteVideo
	json.Unmarshal([]byte(eval[string](t, page, "video("+strconv.Quote(key)+")")), &v)
	return v
}

// waitDecoding waits until a page decodes a remote stream and goes on
// decoding it, and returns the last reading. The first frame may take a
// while on a loaded machine (CI runs every package at once, under -race,
// beside several Chromium pages): a subscription the SDK retries after its
// own 10 s timeout must still fit.
func waitDecoding(t *testing.T, page context.Context, who, key string, ok func(remoteVideo) bool) remoteVideo {
	t.Helper()
	var v0, v1 remoteVideo
	testpeer.WaitFor(t, who+" decoding "+key, 45*time.Second, func() bool {
		v0 = videoOf(t, page, key)
		return v0.FramesDecoded > 0 && ok(v0)
	})
	testpeer.WaitFor(t, who+" to go on decoding "+key, 15*time.Second, func() bool {
		v1 = videoOf(t, page, key)
		return v1.FramesDecoded > v0.FramesDecoded && ok(v1)
	})
	return v1
}

func anyVideo(remoteVideo) bool { return true }

// The Web SDK's small stream, screen share and auxiliary stream through
// trtcd, with the unmodified SDK in headless Chromium.
func TestWebSDKStreams(t *testing.T) {
	s := newStreamsSite(t)

	// Alice publishes her camera with the small stream enabled; Bob plays
	// it, asks for the small stream and gets a smaller picture, asks for
	// the big one and gets it back.
	t.Run("small stream", func(t *testing.T) {
		alice, bob := s.page(t, "alice"), s.page(t, "bob")
		s.join(t, alice, streamsUser{UserID: "alice", RoomID: 8100, Small: true}, 0)
		if res := publishOn(t, alice, "alice", "camera"); res != "ok" {
			t.Fatalf("alice publishing: %s", res)
		}
		s.join(t, bob, streamsUser{UserID: "bob", RoomID: 8100}, 0)
		wantEvent(t, bob, "bob", "bob: stream-subscribed alice main")
		big := waitDecoding(t, bob, "bob", "alice main", func(v remoteVideo) bool { return v.FrameWidth > 160 })
		t.Logf("big: %+v", big)
		eval[string](t, bob, `setType("alice", "small")`)
		small := waitDecoding(t, bob, "bob", "alice main", func(v remoteVideo) bool { return v.FrameWidth <= 160 })
		t.Logf("small: %+v", small)
		eval[string](t, bob, `setType("alice", "big")`)
		big = waitDecoding(t, bob, "bob", "alice main", func(v remoteVideo) bool { return v.FrameWidth > 160 })
		t.Logf("big again: %+v", big)
	})

	// Bob, playing Alice, turns her video off with the SDK's
	// subscribe(stream, {video: false}): his decoder stops getting frames
	// while her audio plays on; he turns it on again and decodes again.
	t.Run("turning a stream off and on", func(t *testing.T) {
		alice, bob := s.page(t, "alice"), s.page(t, "bob")
		s.join(t, alice, streamsUser{UserID: "alice", RoomID: 8700}, 0)
		if res := publishOn(t, alice, "alice", "camera"); res != "ok" {
			t.Fatalf("alice publishing: %s", res)
		}
		s.join(t, bob, streamsUser{UserID: "bob", RoomID: 8700}, 0)
		waitDecoding(t, bob, "bob", "alice main", anyVideo)
		if res := eval[string](t, bob, `receive("alice main", true, false)`); res != "ok" {
			t.Fatalf("bob turning alice's video off: %s", res)
		}
		// Frames on their way when it was turned off may still be
		// decoded: the count must settle, then stay.
		var off remoteVideo
		testpeer.WaitFor(t, "bob's decoder to stop", 15*time.Second, func() bool {
			v := videoOf(t, bob, "alice main")
			settled := v.FramesDecoded == off.FramesDecoded
			off = v
			if !settled {
				time.Sleep(time.Second)
			}
			return settled
		})
		time.Sleep(2 * time.Second)
		if v := videoOf(t, bob, "alice main"); v.FramesDecoded != off.FramesDecoded {
			t.Fatalf("bob decoded %v frames after turning alice's video off", v.FramesDecoded-off.FramesDecoded)
		}
		if res := eval[string](t, bob, `receive("alice main", true, true)`); res != "ok" {
			t.Fatalf("bob turning alice's video on: %s", res)
		}
		waitDecoding(t, bob, "bob", "alice main", func(v remoteVideo) bool { return v.FramesDecoded > off.FramesDecoded })
	})

	// Carol shares her screen the way the SDK's documentation shows: a
	// second client, with a userId of its own, publishes
	// TRTC.createStream({screen: true}) beside her camera. Dave plays both.
	t.Run("screen share", func(t *testing.T) {
		carol, dave := s.page(t, "carol"), s.page(t, "dave")
		no := false
		s.join(t, carol, streamsUser{UserID: "carol", RoomID: 8200}, 0)
		s.join(t, carol, streamsUser{UserID: "share_carol", RoomID: 8200, Subscribe: &no}, 0)
		if res := publishOn(t, carol, "carol", "camera"); res != "ok" {
			t.Fatalf("carol publishing her camera: %s", res)
		}
		if res := publishOn(t, carol, "share_carol", "screen"); res != "ok" {
			t.Fatalf("carol sharing her screen: %s", res)
		}
		s.join(t, dave, streamsUser{UserID: "dave", RoomID: 8200}, 0)
		wantEvent(t, dave, "dave", "dave: stream-subscribed share_carol main")
		t.Logf("screen: %+v", waitDecoding(t, dave, "dave", "share_carol main", anyVideo))
		t.Logf("camera: %+v", waitDecoding(t, dave, "dave", "carol main", anyVideo))
	})

	// Erin publishes a screen as her client's auxiliary stream
	// (publish(stream, {isAuxiliary: true})); Dave sees a stream of type
	// "auxiliary" and plays it.
	t.Run("auxiliary stream", func(t *testing.T) {
		erin, dave := s.page(t, "erin"), s.page(t, "dave")
		s.join(t, erin, streamsUser{UserID: "erin", RoomID: 8300}, 0)
		if res := publishOn(t, erin, "erin", "canvas-aux"); res != "ok" {
			t.Fatalf("erin publishing her auxiliary stream: %s", res)
		}
		s.join(t, dave, streamsUser{UserID: "dave", RoomID: 8300}, 0)
		wantEvent(t, dave, "dave", "dave: stream-subscribed erin auxiliary")
		t.Logf("auxiliary: %+v", waitDecoding(t, dave, "dave", "erin auxiliary", anyVideo))
	})

	// Kate shares a screen beside her camera from the same client: the SDK
	// puts it on the auxiliary section of her running publish without new
	// SDP. Leo plays both; when Kate stops sharing, the screen goes away
	// for Leo and the camera plays on.
	t.Run("screen beside the camera on one client", func(t *testing.T) {
		kate, leo := s.page(t, "kate"), s.page(t, "leo")
		s.join(t, kate, streamsUser{UserID: "kate", RoomID: 8600}, 0)
		if res := publishOn(t, kate, "kate", "camera"); res != "ok" {
			t.Fatalf("kate publishing her camera: %s", res)
		}
		s.join(t, leo, streamsUser{UserID: "leo", RoomID: 8600}, 0)
		waitDecoding(t, leo, "leo", "kate main", anyVideo)
		if res := publishOn(t, kate, "kate", "canvas-aux"); res != "ok" {
			t.Fatalf("kate sharing her screen: %s", res)
		}
		t.Logf("screen: %+v", waitDecoding(t, leo, "leo", "kate auxiliary", anyVideo))
		if res := eval[string](t, kate, `unpublish("kate", "canvas-aux")`); res != "ok" {
			t.Fatalf("kate stopping the share: %s", res)
		}
		wantEvent(t, leo, "leo", "leo: stream-removed kate auxiliary")
		t.Logf("camera after the share: %+v", waitDecoding(t, leo, "leo", "kate main", anyVideo))
	})

	// A privateMapKey without bit 64 cannot share a screen, whichever way
	// the SDK publishes it, and the refusal names TRTC's code. Without bit
	// 128 a viewer is not told of a screen share and receives none, while
	// the camera beside it plays.
	t.Run("privileges", func(t *testing.T) {
		grace := s.page(t, "grace")
		noSend := tlssig.PrivAll &^ tlssig.PrivSendSubVideo
		no := false
		s.join(t, grace, streamsUser{UserID: "share_grace", RoomID: 8400, Subscribe: &no}, noSend)
		s.join(t, grace, streamsUser{UserID: "grace", RoomID: 8400, Subscribe: &no}, noSend)
		for _, p := range []struct{ user, what string }{{"share_grace", "screen"}, {"grace", "canvas-aux"}} {
			var e struct{ Message string }
			res := publishOn(t, grace, p.user, p.what)
			json.Unmarshal([]byte(res), &e)
			if !strings.Contains(e.Message, "102013") {
				t.Errorf("%s publishing %s without bit 64: %s, want a refusal with code 102013", p.user, p.what, res)
			}
		}

		henry := s.page(t, "henry")
		s.join(t, henry, streamsUser{UserID: "henry", RoomID: 8500, Subscribe: &no}, 0)
		s.join(t, henry, streamsUser{UserID: "ivy", RoomID: 8500, Subscribe: &no}, 0)
		for _, p := range []struct{ user, what string }{{"henry", "camera"}, {"ivy", "canvas-aux"}} {
			if res := publishOn(t, henry, p.user, p.what); res != "ok" {
				t.Fatalf("%s publishing %s: %s", p.user, p.what, res)
			}
		}
		judy, frank := s.page(t, "judy"), s.page(t, "frank")
		s.join(t, judy, streamsUser{UserID: "judy", RoomID: 8500}, tlssig.PrivAll)
		s.join(t, frank, streamsUser{UserID: "frank", RoomID: 8500}, tlssig.PrivAll&^tlssig.PrivRecvSubVideo)
		waitDecoding(t, judy, "judy", "ivy auxiliary", anyVideo)
		// The join reply that names henry to frank would name ivy too.
		waitDecoding(t, frank, "frank", "henry main", anyVideo)
		var in struct {
			FramesDecoded float64
			Mids          []string
		}
		json.Unmarshal([]byte(eval[string](t, frank, "inboundVideo()")), &in)
		if eval[bool](t, frank, `has("frank: stream-added ivy auxiliary")`) || len(in.Mids) != 1 {
			t.Errorf("frank, without bit 128, was offered the screen or decodes more than henry's camera: %s; %+v",
				eval[string](t, frank, "JSON.stringify(window.demo.events)"), in)
		}
	})
}
