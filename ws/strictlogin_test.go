package ws_test

import (
	"testing"
	"time"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/ws"
)

// On an app that requires privateMapKeys, signing in (login) needs only the
// userSig: it enters no room. Entering one still needs the privateMapKey.
func TestAStrictAppsUserSignsInWithItsUserSig(t *testing.T) {
	s := testways.StartClasses(t, t.TempDir(), ws.Limits{}, classroom.Limits{})
	c := s.DialWS(t)
	login := ws.LoginData{SDKAppID: testways.StrictApp, UserID: "alice", UserSig: testways.UserSig(testways.StrictApp, "alice", time.Hour)}
	if r := c.Request("login", login); r.Code != 0 {
		t.Fatalf("login on a strict app: %d %s", r.Code, r.Message)
	}
	if r := s.DialWS(t).Join(joinData(testways.StrictApp, "bob", 73)); r.Code != trtc.CodePrivateMapKeyEmpty {
		t.Fatalf("a join without its privateMapKey: %d %s, want %d", r.Code, r.Message, trtc.CodePrivateMapKeyEmpty)
	}
}
