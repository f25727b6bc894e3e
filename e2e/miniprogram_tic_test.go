package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

// The mini program's TIC and TAvKit scenarios (miniprogram/test/tic_*.js,
// tavkit_*.js), on the harness of miniprogram_test.go.

// The browser's /sdk/tic-core.js is the mini program's tic-core.js: one
// core, served by trtcd from the mini program's folder.
func TestTICCoreIsShared(t *testing.T) {
	mini, err := os.ReadFile(filepath.Join("..", "miniprogram", "tic", "tic-core.js"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + startTrtcd(t).HTTPAddr().String() + "/sdk/tic-core.js")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	served, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(served, mini) {
		t.Fatalf("/sdk/tic-core.js (%s, %d bytes) is not miniprogram/tic/tic-core.js (%d bytes)", resp.Status, len(served), len(mini))
	}
}

// (c) TAvKit's component in a 1v1 call: onUserInfoListener with the peer's
// id (and its name shown), a peer's mute, switch camera, a peer's hang-up
// reaching onHandupListener, and a forged userSig reaching onErrorListener
// as avkit 70346 (miniprogram/test/tavkit_call.js says what each means).
func TestMiniProgramTAvKit(t *testing.T) {
	mp := startMiniprogram(t, startTrtcd(t), appKey)
	forged := tlssig.GenUserSig(strings.Repeat("0", 64), app, "mallory", time.Hour, time.Now())
	mp.start(t, "tavkit_call.js", "TAVKIT_FORGED_USERSIG="+forged).wait(t)
}

// A teacher whose class id mallory took first is told so on the mini
// program's classroom page and kept out of mallory's class
// (miniprogram/test/classroom_taken.js).
func TestMiniProgramClassroomIdTaken(t *testing.T) {
	startMiniprogram(t, startTrtcd(t), appKey).start(t, "classroom_taken.js").wait(t)
}

// (d) TIC: a mini-program student (the classroom page on miniprogram/tic,
// in the simulator) in the class of a browser teacher (Chromium on
// classroom.html): the board history replays into the student's board
// data, and C2C and group messages and strokes go both ways. Chat-only,
// the student's TIC connection is its member; with the camera on, its
// member is webrtc-room's RTMP pusher and TIC follows the class.
func TestMiniProgramTICClassroom(t *testing.T) {
	srv := startTrtcd(t)
	mp := startMiniprogram(t, srv, appKey)
	browser := chromium(t)
	base := "http://" + srv.HTTPAddr().String()
	sig := func(user string) string { return tlssig.GenUserSig(appKey, app, user, time.Hour, time.Now()) }

	for i, variant := range []struct {
		name, media, teacherID string
	}{{"chat only", "0", "ms-li"}, {"camera on", "1", "mr-wu"}} {
		t.Run(variant.name, func(t *testing.T) {
			classID, student, teacherID := 3301+i, "tom"+strconv.Itoa(i), variant.teacherID
			teacher := classPage(t, browser, "the teacher", fmt.Sprintf("%s/classroom.html?role=teacher&classId=%d&userId=%s&sdkAppId=%d&userSig=%s",
				base, classID, teacherID, app, url.QueryEscape(sig(teacherID))))

			// Before the student comes: two strokes with the pen, one through
			// the page, and a greeting.
			drawWithPointer(t, teacher, zigzag(0.1, 0.2, 0.45, 0.5, 9))
			drawWithPointer(t, teacher, circle(0.68, 0.42, 0.16, 28))
			eval[float64](t, teacher, `window.classroom.draw([[0.1,0.8],[0.5,0.75],[0.9,0.85]], '#2f7cf6', 120)`)
			ticCall(t, teacher, `tic.sendGroupTextMessage('Welcome to class')`)
			waitPage(t, teacher, "the teacher's 3 strokes", `window.classroom.boardStrokes === 3`)
			board := eval[string](t, teacher, `window.classroom.tic.getTrtcClient().request('history', {afterSeq: 0, limit: 1000})
				.then(p => JSON.stringify(p.messages.filter(m => m.ext === 'TXWhiteBoardExt').map(m => m.data)))`)

			s := mp.start(t, "tic_classroom.js", "TIC_CLASS="+strconv.Itoa(classID), "TIC_TEACHER="+teacherID, "TIC_STUDENT="+student,
				"TIC_BOARD="+board, "TIC_MEDIA="+variant.media)
			s.waitLine(t, "joined", 40*time.Second)
			waitPage(t, teacher, "the teacher to see the student arrive",
				fmt.Sprintf(`window.classroom.events.some(e => e.name === 'onTICMemberJoin' && e.data.includes(%q))`, student))
			if variant.media == "1" { // the student's camera, pushed over RTMP, on the teacher's page
				for deadline := time.Now().Add(20 * time.Second); classStats(t, teacher).InVideoFrames < 20; {
					if time.Now().After(deadline) {
						t.Fatalf("the teacher does not see the student's camera: %+v", classStats(t, teacher))
					}
					time.Sleep(300 * time.Millisecond)
				}
				saveScreenshot(t, teacher, "miniprogram-classroom-teacher.png")
			}

			ticCall(t, teacher, fmt.Sprintf(`tic.sendTextMessage(%q, 'Tom, please open page 12')`, student))
			ticCall(t, teacher, fmt.Sprintf(`tic.sendCustomMessage(%q, '{"quiz":1}')`, student))
			ticCall(t, teacher, `tic.sendGroupTextMessage('Open your books')`)
			s.waitLine(t, "sent", 20*time.Second)
			drawWithPointer(t, teacher, zigzag(0.55, 0.7, 0.9, 0.6, 5))

			waitReceived(t, teacher, "onTICRecvTextMessage", student, "text", "I have a question")
			waitReceived(t, teacher, "onTICRecvCustomMessage", student, "data", `{"hand":"up"}`)
			waitReceived(t, teacher, "onTICRecvGroupTextMessage", student, "text", "Good morning")
			waitPage(t, teacher, "the student's stroke on the teacher's board", `window.classroom.boardStrokes === 5`)
			s.wait(t)
			waitReceived(t, teacher, "onTICRecvGroupTextMessage", student, "text", "Back online") // sent while reconnecting
			saveScreenshot(t, teacher, "miniprogram-classroom-teacher-after-"+variant.media+".png")
		})
	}
}
