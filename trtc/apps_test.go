package trtc

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

const (
	key    = "9d3c0f5e1b7a4c2d8e6f0a1b3c5d7e9f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c1d"
	open   = 1400000001 // userSig is enough
	strict = 1400000002 // privateMapKey required
)

var now = time.Unix(1735689600, 0)

func testApps(t *testing.T) *Apps {
	t.Helper()
	apps, err := NewApps(App{SDKAppID: open, Key: key}, App{SDKAppID: strict, Key: key, RequirePrivateMapKey: true})
	if err != nil {
		t.Fatal(err)
	}
	return apps
}

func TestAuthenticateStories(t *testing.T) {
	apps := testApps(t)
	sig := func(app uint32, user string) string { return tlssig.GenUserSig(key, app, user, time.Hour, now) }
	pmk := func(app uint32, user string, room tlssig.Room, p tlssig.Privilege, expire time.Duration) string {
		return tlssig.GenPrivateMapKey(key, app, user, expire, now, room, p)
	}
	room := tlssig.Room{ID: 1234}
	for _, tc := range []struct {
		story string
		c     Credentials
		at    time.Time
		code  Code
		priv  tlssig.Privilege
	}{
		{"a user with a valid userSig enters an open app's room with every privilege",
			Credentials{SDKAppID: open, UserID: "alice", UserSig: sig(open, "alice"), Room: room}, now, CodeOK, tlssig.PrivAll},
		{"a request without userId gets 10002",
			Credentials{SDKAppID: open, UserSig: sig(open, "alice"), Room: room}, now, CodeMissingUserID, 0},
		{"a userId another client could show as a label gets 82, even with its own valid userSig",
			Credentials{SDKAppID: open, UserID: "ms-li · Teacher", UserSig: sig(open, "ms-li · Teacher"), Room: room}, now, CodeParamCheckFailed, 0},
		{"a userId with a line break gets 82",
			Credentials{SDKAppID: open, UserID: "a\nb", UserSig: sig(open, "a\nb"), Room: room}, now, CodeParamCheckFailed, 0},
		{"a userId of 33 bytes gets 82",
			Credentials{SDKAppID: open, UserID: strings.Repeat("a", 33), UserSig: sig(open, strings.Repeat("a", 33)), Room: room}, now, CodeParamCheckFailed, 0},
		{"a userId of 32 letters, digits, '_' and '-' enters",
			Credentials{SDKAppID: open, UserID: "Teacher_Li-2026" + strings.Repeat("x", 17), UserSig: sig(open, "Teacher_Li-2026"+strings.Repeat("x", 17)), Room: room}, now, CodeOK, tlssig.PrivAll},
		{"a request without sdkAppId gets 10003",
			Credentials{UserID: "alice", UserSig: sig(open, "alice"), Room: room}, now, CodeMissingSDKAppID, 0},
		{"a request without userSig gets 10004",
			Credentials{SDKAppID: open, UserID: "alice", Room: room}, now, CodeMissingUserSig, 0},
		{"a request without a room gets 10005",
			Credentials{SDKAppID: open, UserID: "alice", UserSig: sig(open, "alice")}, now, CodeMissingRoomID, 0},
		{"an app this server does not know gets 70020",
			Credentials{SDKAppID: 42, UserID: "alice", UserSig: sig(42, "alice"), Room: room}, now, CodeSDKAppIDNotFound, 0},
		{"mallory presenting alice's userSig gets 70346",
			Credentials{SDKAppID: open, UserID: "mallory", UserSig: sig(open, "alice"), Room: room}, now, CodeUserSigCheckFailed, 0},
		{"an expired userSig gets 70346",
			Credentials{SDKAppID: open, UserID: "alice", UserSig: sig(open, "alice"), Room: room}, now.Add(2 * time.Hour), CodeUserSigCheckFailed, 0},
		{"a strict app without privateMapKey gets 80",
			Credentials{SDKAppID: strict, UserID: "bob", UserSig: sig(strict, "bob"), Room: room}, now, CodePrivateMapKeyEmpty, 0},
		{"a strict app with a key for the room enters with the key's privileges",
			Credentials{SDKAppID: strict, UserID: "bob", UserSig: sig(strict, "bob"), Room: room,
				PrivateMapKey: pmk(strict, "bob", room, 42, time.Hour)}, now, CodeOK, 42},
		{"an expired privateMapKey gets 86",
			Credentials{SDKAppID: strict, UserID: "bob", UserSig: tlssig.GenUserSig(key, strict, "bob", 3*time.Hour, now), Room: room,
				PrivateMapKey: pmk(strict, "bob", room, 42, time.Hour)}, now.Add(2 * time.Hour), CodePrivateMapKeyExpired, 0},
		{"a privateMapKey for another room gets 87",
			Credentials{SDKAppID: strict, UserID: "bob", UserSig: sig(strict, "bob"), Room: tlssig.Room{Str: "1234"},
				PrivateMapKey: pmk(strict, "bob", room, 255, time.Hour)}, now, CodePrivateMapKeyIncorrect, 0},
		{"a garbage privateMapKey gets 87 even in an open app",
			Credentials{SDKAppID: open, UserID: "alice", UserSig: sig(open, "alice"), Room: room, PrivateMapKey: "garbage!"}, now, CodePrivateMapKeyIncorrect, 0},
	} {
		g, err := apps.Authenticate(tc.c, tc.at)
		if got := CodeOf(errOrNil(err)); got != tc.code {
			t.Errorf("%s: code %d (%v), want %d", tc.story, got, err, tc.code)
			continue
		}
		if err == nil && g.Privilege != tc.priv {
			t.Errorf("%s: privilege %s, want %s", tc.story, g.Privilege, tc.priv)
		}
	}
}

// errOrNil keeps a nil *Error from becoming a non-nil error interface.
func errOrNil(e *Error) error {
	if e == nil {
		return nil
	}
	return e
}

func TestUserSigFailureKeepsTheFinerReason(t *testing.T) {
	apps := testApps(t)
	_, err := apps.Authenticate(Credentials{SDKAppID: open, UserID: "alice", UserSig: "eJyr", Room: tlssig.Room{ID: 1}}, now)
	if err == nil || !errors.Is(err, tlssig.ErrMalformed) || !strings.Contains(err.Message, "malformed") {
		t.Fatalf("got %v, want a 70346 that says malformed", err)
	}
	if strings.Contains(err.Message, key) {
		t.Fatal("the message leaks the secret key")
	}
}

func TestNewAppsRefusesBadConfig(t *testing.T) {
	for _, apps := range [][]App{
		{{SDKAppID: 0, Key: "k"}},
		{{SDKAppID: 1}},
		{{SDKAppID: 1, Key: "k"}, {SDKAppID: 1, Key: "j"}},
		{{SDKAppID: 1, Key: "k", Admins: []string{"ops.admin"}}}, // could never sign in
	} {
		if _, err := NewApps(apps...); err == nil {
			t.Errorf("NewApps(%+v) accepted", apps)
		}
	}
}

// docs/errors.md is the table operators read; it must list every code.
func TestErrorsDocListsTheCatalogue(t *testing.T) {
	doc, err := os.ReadFile("../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range append(Catalogue, RestCatalogue...) {
		if !strings.Contains(string(doc), "| "+strconv.Itoa(int(e.Code))+" | `"+e.Name+"` |") {
			t.Errorf("docs/errors.md lacks the row for %d %s", e.Code, e.Name)
		}
	}
}

// 14008 means "failed to get the recording file" and nothing else (the
// seeds' server table); no two client codes share a number.
func TestEachCodeHasOneMeaning(t *testing.T) {
	seen := map[Code]string{}
	for _, e := range Catalogue {
		if e.Code == RestRecordFailed {
			t.Errorf("client code %s uses 14008, the recording files API's", e.Name)
		}
		if other, dup := seen[e.Code]; dup {
			t.Errorf("%s and %s share %d", e.Name, other, e.Code)
		}
		seen[e.Code] = e.Name
	}
}
