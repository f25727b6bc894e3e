package trtc

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

// App is an application (sdkAppId) this server serves.
type App struct {
	SDKAppID uint32
	// Key is the secret key as shown in Tencent's console (64 hex characters);
	// it is used as a string, never hex-decoded. It never appears in logs.
	Key string
	// RequirePrivateMapKey makes a privateMapKey mandatory to enter a room, as
	// the console's "enable permission key" switch does.
	RequirePrivateMapKey bool
	// Admins are the identifiers allowed to call the room REST API
	// (default: "administrator", as in Tencent's consoles).
	Admins []string
}

// DefaultAdmin is the admin identifier of apps that name none.
const DefaultAdmin = "administrator"

// IsAdmin reports whether identifier may call the room REST API.
func (a App) IsAdmin(identifier string) bool {
	if len(a.Admins) == 0 {
		return identifier == DefaultAdmin
	}
	return slices.Contains(a.Admins, identifier)
}

// Apps is the immutable registry of configured applications.
type Apps struct {
	byID map[uint32]App
}

// NewApps builds the registry. Every app needs a non-zero id, a key, and an
// id of its own.
func NewApps(apps ...App) (*Apps, error) {
	r := &Apps{byID: make(map[uint32]App, len(apps))}
	for _, a := range apps {
		if a.SDKAppID == 0 {
			return nil, errors.New("app with sdkAppId 0")
		}
		if a.Key == "" {
			return nil, fmt.Errorf("app %d has no secret key", a.SDKAppID)
		}
		if _, dup := r.byID[a.SDKAppID]; dup {
			return nil, fmt.Errorf("app %d configured twice", a.SDKAppID)
		}
		for _, admin := range a.Admins {
			if !ValidUserID(admin) {
				return nil, fmt.Errorf("app %d: admin %q is not a userId (1 to 32 letters, digits, '_' or '-'): it could never sign in", a.SDKAppID, admin)
			}
		}
		r.byID[a.SDKAppID] = a
	}
	return r, nil
}

// Lookup returns the app with this id.
func (r *Apps) Lookup(id uint32) (App, bool) {
	a, ok := r.byID[id]
	return a, ok
}

// Len is the number of configured apps.
func (r *Apps) Len() int { return len(r.byID) }

// Credentials is what a client presents to enter a room.
type Credentials struct {
	SDKAppID      uint32
	UserID        string
	UserSig       string
	PrivateMapKey string
	Room          tlssig.Room
}

// Grant is what verified credentials allow.
type Grant struct {
	App App
	// Privilege is the privateMapKey's map, or every privilege when the
	// client entered with a userSig alone (allowed unless the app requires a
	// privateMapKey).
	Privilege tlssig.Privilege
	// PrivateMapKey is the verified key; nil when none was presented.
	PrivateMapKey *tlssig.PrivateMapKey
}

// ValidUserID is TRTC's and IM's rule for a userId: 1 to 32 bytes of
// letters, digits, '_' and '-'. Every client shows other members' ids, and
// one with spaces, punctuation or control characters could pass for
// another member or a label ("ms-li · Teacher"), or collide with a
// client's own keys.
func ValidUserID(id string) bool {
	if len(id) == 0 || len(id) > 32 {
		return false
	}
	for _, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Authenticate checks a client's credentials for entering a room at time
// now and maps every failure to the TRTC code the clients know.
func (r *Apps) Authenticate(c Credentials, now time.Time) (*Grant, *Error) {
	return r.authenticate(c, now, true)
}

// authenticate is Authenticate; for a request that enters no room
// (forRoom false: a sign-in, the application server's REST calls) an app's
// require_private_map_key does not apply, since a privateMapKey grants
// privileges in a room.
func (r *Apps) authenticate(c Credentials, now time.Time, forRoom bool) (*Grant, *Error) {
	switch {
	case c.UserID == "":
		return nil, Errorf(CodeMissingUserID, "userId is missing")
	case !ValidUserID(c.UserID):
		return nil, Errorf(CodeParamCheckFailed, "userId must be 1 to 32 letters, digits, '_' or '-'")
	case c.SDKAppID == 0:
		return nil, Errorf(CodeMissingSDKAppID, "sdkAppId is missing")
	case c.UserSig == "":
		return nil, Errorf(CodeMissingUserSig, "userSig is missing")
	case !c.Room.IsString() && c.Room.ID == 0:
		return nil, Errorf(CodeMissingRoomID, "roomId is missing (a numeric roomId is 1 to 4294967295, or give strRoomId)")
	}
	app, ok := r.Lookup(c.SDKAppID)
	if !ok {
		return nil, Errorf(CodeSDKAppIDNotFound, "sdkAppId %d is not configured on this server", c.SDKAppID)
	}
	if _, err := tlssig.VerifyUserSig(app.Key, app.SDKAppID, c.UserID, c.UserSig, now); err != nil {
		return nil, Errorf(CodeUserSigCheckFailed, "userSig check failed: %w", err)
	}
	g := &Grant{App: app, Privilege: tlssig.PrivAll}
	if c.PrivateMapKey == "" {
		if app.RequirePrivateMapKey && forRoom {
			return nil, Errorf(CodePrivateMapKeyEmpty, "privateMapKey is required by app %d and is empty", app.SDKAppID)
		}
		return g, nil
	}
	key, err := tlssig.VerifyPrivateMapKey(app.Key, app.SDKAppID, c.UserID, c.PrivateMapKey, c.Room, now)
	if errors.Is(err, tlssig.ErrExpired) {
		return nil, Errorf(CodePrivateMapKeyExpired, "privateMapKey expired: %w", err)
	}
	if err != nil {
		return nil, Errorf(CodePrivateMapKeyIncorrect, "privateMapKey incorrect: %w", err)
	}
	g.PrivateMapKey, g.Privilege = key, key.Buf.Privilege
	return g, nil
}
