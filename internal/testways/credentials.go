package testways

import (
	"testing"
	"time"

	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// The test apps: both sign with Key; StrictApp also requires a
// privateMapKey.
const (
	Key       = "9d3c0f5e1b7a4c2d8e6f0a1b3c5d7e9f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c1d"
	OpenApp   = 1400000001 // userSig is enough
	StrictApp = 1400000002 // privateMapKey required
)

// Apps are OpenApp and StrictApp.
func Apps(t testing.TB) *trtc.Apps {
	t.Helper()
	apps, err := trtc.NewApps(trtc.App{SDKAppID: OpenApp, Key: Key}, trtc.App{SDKAppID: StrictApp, Key: Key, RequirePrivateMapKey: true})
	if err != nil {
		t.Fatal(err)
	}
	return apps
}

// UserSig is user's userSig for app, valid for expire (negative: expired)
// from a minute ago.
func UserSig(app uint32, user string, expire time.Duration) string {
	return tlssig.GenUserSig(Key, app, user, expire, time.Now().Add(-time.Minute))
}

// PrivateMapKey is user's privateMapKey for room with priv, valid for
// expire from now.
func PrivateMapKey(app uint32, user string, room tlssig.Room, priv tlssig.Privilege, expire time.Duration) string {
	return tlssig.GenPrivateMapKey(Key, app, user, expire, time.Now(), room, priv)
}
