package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/server"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
	"github.com/trtcd/trtcd/web"
)

// startDevTrtcd runs trtcd as `trtcd serve` does with no configuration:
// one development app whose userSigs the demo page may mint.
func startDevTrtcd(t *testing.T) *server.Server {
	return startTrtcdWith(t, func(c *server.Config) { c.DevApp = &web.DevApp{SDKAppID: app, Key: appKey} })
}

// open loads a page in a new tab.
func open(t *testing.T, browser context.Context, url string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 760), chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// pressJoin presses the page's join button (the demo's Join call, the
// classroom's Enter class) once the page has filled in its form: a link
// never joins by itself.
func pressJoin(t *testing.T, page context.Context) {
	t.Helper()
	waitPage(t, page, "the join form", `!document.getElementById('join-button').disabled`)
	eval[bool](t, page, `document.getElementById('join-button').click() || true`)
}

// openAndJoin loads a page and presses its join button.
func openAndJoin(t *testing.T, browser context.Context, url string) context.Context {
	t.Helper()
	page := open(t, browser, url)
	pressJoin(t, page)
	return page
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

type demoStats struct{ InVideoFrames, InAudioPackets, OutVideoBytes float64 }

func statsOf(t *testing.T, ctx context.Context) demoStats {
	var s demoStats
	json.Unmarshal([]byte(eval[string](t, ctx, "window.demoStats()")), &s)
	return s
}

// pageError is the error the demo page shows, as {code, message}.
func pageError(t *testing.T, ctx context.Context) (float64, string) {
	raw := eval[string](t, ctx, `JSON.stringify(window.demo.error || {})`)
	var e struct {
		Code    float64 `json:"code"`
		Message string  `json:"message"`
	}
	json.Unmarshal([]byte(raw), &e)
	visible := eval[bool](t, ctx, `!document.getElementById('toast').hidden`)
	if e.Code != 0 && !visible {
		t.Errorf("error %v is not shown on the page", e.Code)
	}
	return e.Code, e.Message
}

func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{t.TempDir(), os.Getenv("TRTCD_SCREENSHOTS")} {
		if dir != "" {
			os.WriteFile(filepath.Join(dir, name), png, 0o644)
		}
	}
}

// Two people open the demo and call each other; a third gets the room-full
// error on the page, and a forged userSig shows its error code.
func TestDemoOneToOneCall(t *testing.T) {
	srv := startDevTrtcd(t)
	browser := chromium(t)
	base := "http://" + srv.HTTPAddr().String()

	alice := openAndJoin(t, browser, base+"/?roomId=5555&layout=1v1bigsmall")
	waitPage(t, alice, "the first page to join", `window.demo.joined && !!document.getElementById('invite-link').value`)
	invite := eval[string](t, alice, `document.getElementById('invite-link').value`)
	bob := openAndJoin(t, browser, strings.Replace(invite, "layout=1v1bigsmall", "layout=1v1horizontal", 1))
	waitPage(t, bob, "the invited page to join", `window.demo.joined`)

	deadline := time.Now().Add(20 * time.Second)
	for {
		a, b := statsOf(t, alice), statsOf(t, bob)
		if a.InVideoFrames > 30 && b.InVideoFrames > 30 && a.InAudioPackets > 50 && b.InAudioPackets > 50 {
			t.Logf("alice decoded %.0f frames, %.0f audio packets; bob %.0f frames, %.0f audio packets",
				a.InVideoFrames, a.InAudioPackets, b.InVideoFrames, b.InAudioPackets)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no two-way media: alice %+v, bob %+v", a, b)
		}
		time.Sleep(300 * time.Millisecond)
	}
	before := statsOf(t, bob).InVideoFrames
	testpeer.WaitFor(t, "10 more frames decoded by bob", 15*time.Second, func() bool {
		return statsOf(t, bob).InVideoFrames-before >= 10
	})
	saveScreenshot(t, alice, "demo-1v1bigsmall.png")
	saveScreenshot(t, bob, "demo-1v1horizontal.png")

	carol := openAndJoin(t, browser, invite)
	waitPage(t, carol, "the third page's error", `!!window.demo.error`)
	if code, msg := pageError(t, carol); code != float64(trtc.CodeRoomFull) {
		t.Fatalf("the third page shows %v %q, want the room-full code %d", code, msg, trtc.CodeRoomFull)
	}
	saveScreenshot(t, carol, "demo-room-full.png")

	forged := tlssig.GenUserSig("not-the-app-key", app, "mallory", time.Hour, time.Now())
	mallory := openAndJoin(t, browser, fmt.Sprintf("%s/?roomId=7777&sdkAppId=%d&userId=mallory&userSig=%s", base, app, forged))
	waitPage(t, mallory, "the forged page's error", `!!window.demo.error`)
	if code, msg := pageError(t, mallory); code != float64(trtc.CodeUserSigCheckFailed) {
		t.Fatalf("the forged page shows %v %q, want %d", code, msg, trtc.CodeUserSigCheckFailed)
	}
}

func waitPage(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !eval[bool](t, ctx, "!!("+cond+")") {
		if time.Now().After(deadline) {
			raw := eval[string](t, ctx, `JSON.stringify(window.demo && window.demo.error || null)`)
			t.Fatalf("timed out waiting for %s (page error: %s)", what, raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A link carrying someone's credentials (sdkAppId, userId and userSig: a
// stranger's room, a stranger's userSig) fills in the join form of the
// demo and of the classroom page, and that is all: the camera and the
// microphone stay off and the page stays out of the room until the person
// presses the button.
func TestLinkJoinsOnlyWhenThePersonPresses(t *testing.T) {
	srv := startDevTrtcd(t)
	browser := chromium(t)
	base := "http://" + srv.HTTPAddr().String()
	sig := tlssig.GenUserSig(appKey, app, "victim", time.Hour, time.Now())
	creds := fmt.Sprintf("sdkAppId=%d&userId=victim&userSig=%s", app, url.QueryEscape(sig))

	for _, p := range []struct{ name, url, state, joined string }{
		{"demo", base + "/?roomId=6660&" + creds, "window.demo", "window.demo.joined"},
		{"classroom", base + "/classroom.html?classId=6661&role=teacher&" + creds, "window.classroom", "window.classroom.joined"},
	} {
		t.Run(p.name, func(t *testing.T) {
			page := open(t, browser, p.url)
			waitPage(t, page, "the form filled in from the link", fmt.Sprintf(
				`document.querySelector('[name=userSig]').value === %q`, sig))
			// The page fills in the form and would call join in the same turn:
			// a page that joins by itself has its client (or TIC) by now.
			if eval[bool](t, page, "!!("+p.state+".client || "+p.state+".tic || document.getElementById('local-video').srcObject)") {
				t.Fatal("the page set out to join without the person pressing the button")
			}
			if eval[bool](t, page, "document.getElementById('join').hidden") {
				t.Error("the join form is not shown")
			}
			pressJoin(t, page)
			waitPage(t, page, "the page to join once pressed", p.joined+" && !!document.getElementById('local-video').srcObject")
		})
	}
}
