package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A teacher and a student hold a class on the classroom page: they talk
// one-to-one and to the class through the TIC API (and the chat box), see
// each other, and the teacher draws on the board. A student who comes late
// finds the board exactly as the others see it and the chat that came
// before. When the teacher ends the class, everyone is told.
func TestClassroomPage(t *testing.T) {
	srv := startDevTrtcd(t)
	browser := chromium(t)
	class := "http://" + srv.HTTPAddr().String() + "/classroom.html?classId=3101"

	teacher := classPage(t, browser, "the teacher", class+"&role=teacher&userId=ms-li")
	student := classPage(t, browser, "the student", class+"&userId=tom")
	waitPage(t, teacher, "the teacher to see the student arrive", `window.classroom.events.some(e => e.name === 'onTICMemberJoin' && e.data.includes('tom'))`)

	t.Run("a student who comes before the teacher waits", func(t *testing.T) {
		early := openAndJoin(t, browser, strings.Replace(class, "3101", "3102", 1)+"&userId=ben")
		waitPage(t, early, "the waiting screen", `window.classroom.waiting && !document.getElementById('waiting').hidden`)
		saveScreenshot(t, early, "classroom-waiting.png")
		ticCall(t, teacher, `tic.createClassroom(3102)`)
		waitPage(t, early, "the early student to enter once the class opens", `window.classroom.joined`)
	})

	t.Run("without a class id the page asks for one", func(t *testing.T) {
		form := open(t, browser, strings.TrimSuffix(class, "?classId=3101"))
		waitPage(t, form, "the join form", `!document.getElementById('join').hidden && document.querySelector('[name=userId]').value !== ''`)
		saveScreenshot(t, form, "classroom-form.png")
	})

	t.Run("messages reach the right listener", func(t *testing.T) {
		// Promise style and TIC's callback style, both ways.
		ticCall(t, teacher, `tic.sendTextMessage('tom', 'Tom, please open page 12')`)
		ticCallback(t, teacher, `tic.sendGroupTextMessage('Good morning, class', cb)`)
		ticCall(t, student, `tic.sendCustomMessage('ms-li', '{"hand":"up"}')`)
		ticCallback(t, student, `tic.sendGroupCustomMessage('{"quiz":1,"answer":"B"}', cb)`)
		// And a person typing a private message in the chat box.
		eval[bool](t, student, `(() => {
			const to = document.getElementById('chat-to');
			to.value = 'ms-li';
			to.dispatchEvent(new Event('change'));
			document.getElementById('chat-input').value = 'I have a question';
			document.getElementById('chat-form').requestSubmit();
			return true;
		})()`)

		waitReceived(t, student, "onTICRecvTextMessage", "ms-li", "text", "Tom, please open page 12")
		waitReceived(t, student, "onTICRecvGroupTextMessage", "ms-li", "text", "Good morning, class")
		waitReceived(t, teacher, "onTICRecvCustomMessage", "tom", "data", `{"hand":"up"}`)
		waitReceived(t, teacher, "onTICRecvGroupCustomMessage", "tom", "data", `{"quiz":1,"answer":"B"}`)
		waitReceived(t, teacher, "onTICRecvTextMessage", "tom", "text", "I have a question")
		// Each message once, to the receiver only: onTICRecvMessage sees them all.
		for _, p := range []struct {
			who  string
			page context.Context
			want float64
		}{{"teacher", teacher, 3}, {"student", student, 2}} {
			if n := eval[float64](t, p.page, `window.classroom.messages.filter(m => m.from === window.classroom.userId).length`); n != 0 {
				t.Errorf("the %s's own messages came back to its listeners %v times", p.who, n)
			}
			if n := eval[float64](t, p.page, `window.classroom.messages.filter(m => m.listener === 'onTICRecvMessage').length`); n != p.want {
				t.Errorf("the %s's onTICRecvMessage saw %v messages, want %v", p.who, n, p.want)
			}
		}
	})

	t.Run("both see and hear each other", func(t *testing.T) {
		deadline := time.Now().Add(20 * time.Second)
		for {
			a, b := classStats(t, teacher), classStats(t, student)
			if a.InVideoFrames > 20 && b.InVideoFrames > 20 && a.InAudioPackets > 30 && b.InAudioPackets > 30 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no two-way media: teacher %+v, student %+v", a, b)
			}
			time.Sleep(300 * time.Millisecond)
		}
	})

	// The teacher draws two strokes with the pen (pointer events on the
	// board, in red) and shares a third through the page's draw function.
	eval[bool](t, teacher, `document.querySelector('.swatch[data-color="#e5484d"]').click() || true`)
	drawWithPointer(t, teacher, zigzag(0.1, 0.2, 0.45, 0.5, 9))
	drawWithPointer(t, teacher, circle(0.68, 0.42, 0.16, 28))
	eval[float64](t, teacher, `window.classroom.draw([[0.1,0.8],[0.5,0.75],[0.9,0.85]], '#2f7cf6', 120)`)
	waitPage(t, teacher, "the teacher's strokes to be shared", `window.classroom.boardStrokes === 3`)
	waitPage(t, student, "the student's board to show 3 strokes", `window.classroom.boardStrokes === 3`)
	if n := eval[float64](t, student, `window.classroom.messages.filter(m => (m.data || '').includes('stroke') || m.listener === 'onTICRecvMessage' && m.type === 'custom' && m.from === 'ms-li').length`); n != 0 {
		t.Errorf("board data reached the student's message listeners %v times", n)
	}

	teacherBoard := boardPixels(t, teacher)
	if ink := inked(teacherBoard); ink < 5000 {
		t.Fatalf("the teacher's board has %d inked pixels: the strokes were not drawn", ink)
	}
	compareBoards(t, "the student", teacherBoard, boardPixels(t, student))
	saveScreenshot(t, teacher, "classroom-teacher.png")
	saveScreenshot(t, student, "classroom-student.png")

	t.Run("a dropped connection loses nothing", func(t *testing.T) {
		// The student's socket drops; a message it sends meanwhile is retried
		// once reconnected, and a stroke drawn while it was away is replayed.
		eval[bool](t, student, `window.classroom.tic.getTrtcClient().ws.close() || true`)
		ticCall(t, student, `tic.sendGroupTextMessage('Sorry, my wifi dropped')`)
		drawWithPointer(t, teacher, zigzag(0.55, 0.7, 0.9, 0.6, 5))
		waitPage(t, student, "the student to reconnect", `window.classroom.events.some(e => e.name === 'onTICConnectionRestored')`)
		waitReceived(t, teacher, "onTICRecvGroupTextMessage", "tom", "text", "Sorry, my wifi dropped")
		waitPage(t, student, "the student's board to catch up", `window.classroom.boardStrokes === 4`)
		if n := eval[float64](t, teacher, `window.classroom.messages.filter(m => m.text === 'Sorry, my wifi dropped').length`); n != 1 {
			t.Errorf("the teacher got the retried message %v times", n)
		}
		compareBoards(t, "the reconnected student", boardPixels(t, teacher), boardPixels(t, student))
	})
	teacherBoard = boardPixels(t, teacher)

	late := classPage(t, browser, "the late student", class+"&userId=amy")
	waitPage(t, late, "the late student's board to replay 4 strokes", `window.classroom.boardStrokes === 4`)
	compareBoards(t, "the late student", teacherBoard, boardPixels(t, late))
	waitPage(t, late, "the late student's chat to replay the class's messages",
		`window.classroom.messages.some(m => m.listener === 'onTICRecvGroupTextMessage' && m.text === 'Good morning, class')`)
	for deadline := time.Now().Add(15 * time.Second); classStats(t, late).InVideoFrames < 20 && time.Now().Before(deadline); {
		time.Sleep(300 * time.Millisecond) // for the screenshot: the others' video has started
	}
	saveScreenshot(t, late, "classroom-late-student.png")

	// The teacher ends the class from the page: button, then confirmation.
	eval[bool](t, teacher, `document.getElementById('end-class').click() || true`)
	waitPage(t, teacher, "the confirmation", `!document.getElementById('confirm').hidden`)
	eval[bool](t, teacher, `document.getElementById('confirm-ok').click() || true`)
	for name, page := range map[string]context.Context{"the student": student, "the late student": late} {
		waitPage(t, page, name+" to be told the class ended",
			`window.classroom.destroyed && !document.getElementById('ended').hidden && window.classroom.events.some(e => e.name === 'onTICClassroomDestroy')`)
		if eval[bool](t, page, `window.classroom.events.some(e => e.name === 'onTICForceOffline')`) {
			t.Errorf("%s was told it signed in elsewhere when the class ended", name)
		}
		if live := eval[float64](t, page, `window.classroom.tic.getTrtcClient().remote.size + (window.classroom.tic.getTrtcClient().publisher ? 1 : 0)`); live != 0 {
			t.Errorf("%s still has %v media connections after the class ended", name, live)
		}
	}
	waitPage(t, teacher, "the teacher's page to show the class ended", `window.classroom.destroyed && !document.getElementById('ended').hidden`)
	saveScreenshot(t, student, "classroom-ended.png")
}

// Mallory created class 3150 before Ms Li came to teach it. Ms Li's page
// tells her the class id is mallory's and keeps her out: she does not sit
// in mallory's class as a student with her camera on, and she can teach
// another class id straight away.
func TestClassroomPageClassIdTaken(t *testing.T) {
	srv := startDevTrtcd(t)
	browser := chromium(t)
	base := "http://" + srv.HTTPAddr().String() + "/classroom.html?role=teacher"
	mallory := classPage(t, browser, "mallory", base+"&classId=3149&userId=mallory")
	ticCall(t, mallory, `tic.createClassroom(3150)`) // and waits there, in her own class

	teacher := openAndJoin(t, browser, base+"&classId=3150&userId=ms-li")
	waitPage(t, teacher, "Ms Li to be told the class is taken", `window.classroom.error && !document.getElementById('join').hidden`)
	if text := eval[string](t, teacher, `document.getElementById('toast').hidden ? '' : document.getElementById('toast-text').textContent`); !strings.Contains(text, "belongs to mallory") {
		t.Errorf("Ms Li's page says %q, want that class 3150 belongs to mallory", text)
	}
	if eval[bool](t, teacher, `window.classroom.joined || !!document.getElementById('local-video').srcObject`) {
		t.Error("Ms Li entered mallory's class")
	}

	eval[bool](t, teacher, `(() => {
		const form = document.getElementById('join-form');
		form.classId.value = '3151';
		form.requestSubmit();
		return true;
	})()`)
	waitPage(t, teacher, "Ms Li to teach class 3151", `window.classroom.joined && window.classroom.creator === 'ms-li' && !document.getElementById('end-class').hidden`)
}

// classPage opens the classroom page, presses Enter class and waits until
// it is in the class;
// if the test fails later, the page's state goes to the log.
func classPage(t *testing.T, browser context.Context, who, url string) context.Context {
	t.Helper()
	page := openAndJoin(t, browser, url)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		state, err := chromedp.Run(page, chromedp.Evaluate[string](`JSON.stringify({joined: window.classroom.joined, waiting: window.classroom.waiting,
			error: window.classroom.error, events: window.classroom.events, messages: window.classroom.messages, boardStrokes: window.classroom.boardStrokes})`))
		t.Logf("%s's page: %s %v", who, state, err)
	})
	waitPage(t, page, who+" to enter the class", `window.classroom.joined`)
	return page
}

// ticCall runs a TIC call in the page (`tic` is the page's instance) and
// fails the test when it rejects.
func ticCall(t *testing.T, page context.Context, call string) {
	t.Helper()
	res := eval[string](t, page, `(async () => { const tic = window.classroom.tic;
		try { await `+call+`; return 'ok'; } catch (e) { return 'module ' + e.module + ' code ' + e.code + ': ' + e.reason; } })()`)
	if res != "ok" {
		t.Fatalf("%s: %s", call, res)
	}
}

// ticCallback runs a TIC call with a callback `cb` and checks that it
// reports module 0 (IM), code 0.
func ticCallback(t *testing.T, page context.Context, call string) {
	t.Helper()
	res := eval[string](t, page, `new Promise(resolve => { const tic = window.classroom.tic;
		const cb = (module, code, desc) => resolve(module + '/' + code + (desc ? ' ' + desc : '')); `+call+`; })`)
	if res != "0/0" {
		t.Fatalf("%s: callback got %s, want 0/0", call, res)
	}
}

func waitReceived(t *testing.T, page context.Context, listener, from, field, value string) {
	t.Helper()
	waitPage(t, page, fmt.Sprintf("%s(%s, %q)", listener, from, value), fmt.Sprintf(
		`window.classroom.messages.some(m => m.listener === %q && m.from === %q && m[%q] === %q)`, listener, from, field, value))
}

func classStats(t *testing.T, page context.Context) demoStats {
	var s demoStats
	raw := eval[string](t, page, "window.classroomStats()")
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// drawWithPointer draws one stroke on the board with pointer events, as a
// mouse or a pen would.
func drawWithPointer(t *testing.T, page context.Context, points [][2]float64) {
	t.Helper()
	var js strings.Builder
	js.WriteString(`(() => { const s = document.getElementById('board-surface'), r = s.getBoundingClientRect();
		const ev = (type, x, y) => s.dispatchEvent(new PointerEvent(type, {clientX: r.left + x * r.width, clientY: r.top + y * r.height,
			pointerId: 7, pointerType: 'mouse', button: 0, isPrimary: true, bubbles: true}));`)
	for i, p := range points {
		kind := "pointermove"
		if i == 0 {
			kind = "pointerdown"
		}
		fmt.Fprintf(&js, "ev(%q, %g, %g);", kind, p[0], p[1])
	}
	last := points[len(points)-1]
	fmt.Fprintf(&js, "ev('pointerup', %g, %g); return true; })()", last[0], last[1])
	eval[bool](t, page, js.String())
}

func zigzag(x0, y0, x1, y1 float64, n int) [][2]float64 {
	var out [][2]float64
	for i := 0; i < n; i++ {
		y := y0
		if i%2 == 1 {
			y = y1
		}
		out = append(out, [2]float64{x0 + (x1-x0)*float64(i)/float64(n-1), y})
	}
	return out
}

func circle(cx, cy, r float64, n int) [][2]float64 {
	var out [][2]float64
	for i := 0; i <= n; i++ {
		a := 2 * math.Pi * float64(i) / float64(n)
		out = append(out, [2]float64{cx + r*9/16*math.Cos(a), cy + r*math.Sin(a)}) // round on a 16:9 board
	}
	return out
}

// boardPixels reads the board canvas as the page painted it.
func boardPixels(t *testing.T, page context.Context) image.Image {
	t.Helper()
	url := eval[string](t, page, `document.getElementById('board').toDataURL('image/png')`)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(url, "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// inked counts the pixels a stroke touched (the canvas is transparent elsewhere).
func inked(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a > 0 {
				n++
			}
		}
	}
	return n
}

// compareBoards wants the same picture: at most 0.05% of the pixels may
// differ by more than a rounding step (anti-aliasing is deterministic on
// one machine, but leave room for it).
func compareBoards(t *testing.T, who string, want, got image.Image) {
	t.Helper()
	if want.Bounds() != got.Bounds() {
		t.Fatalf("%s's board is %v, the teacher's %v", who, got.Bounds(), want.Bounds())
	}
	b := want.Bounds()
	diff := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if !near(want.At(x, y), got.At(x, y)) {
				diff++
			}
		}
	}
	t.Logf("%s's board differs from the teacher's in %d of %d pixels", who, diff, b.Dx()*b.Dy())
	if diff > b.Dx()*b.Dy()/2000 {
		t.Errorf("%s's board differs from the teacher's in %d pixels", who, diff)
	}
}

func near(a, b color.Color) bool {
	ar, ag, ab, aa := a.RGBA()
	br, bg, bb, ba := b.RGBA()
	const step = 8 << 8 // 8 of 255
	d := func(x, y uint32) bool { return x > y+step || y > x+step }
	return !d(ar, br) && !d(ag, bg) && !d(ab, bb) && !d(aa, ba)
}
