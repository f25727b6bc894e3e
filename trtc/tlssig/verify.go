package tlssig

import (
	"fmt"
	"time"
)

// PrivateMapKey is a verified (or at least decoded) privateMapKey.
type PrivateMapKey struct {
	*Token
	Buf *UserBuf
}

// VerifyUserSig checks a userSig presented by userID of application sdkAppID,
// whose secret key is key, at time now. The checks run in the official order:
// decode, sdkappid, identifier, expiry, HMAC. The error wraps exactly one of
// the package's sentinel errors. The token is returned whenever it could be
// decoded, even when it is refused, so callers can report what it says.
func VerifyUserSig(key string, sdkAppID uint32, userID, sig string, now time.Time) (*Token, error) {
	t, err := Decode(sig)
	if err != nil {
		return nil, err
	}
	return t, t.check(key, sdkAppID, userID, now)
}

// VerifyPrivateMapKey checks a privateMapKey as VerifyUserSig checks a
// userSig, and also its userbuf: the userbuf expiry, and that it grants the
// room being entered. Privileges are the caller's to enforce.
func VerifyPrivateMapKey(key string, sdkAppID uint32, userID, sig string, room Room, now time.Time) (*PrivateMapKey, error) {
	t, err := Decode(sig)
	if err != nil {
		return nil, err
	}
	if !t.HasUserBuf() {
		return nil, fmt.Errorf("%w: privateMapKey without TLS.userbuf", ErrMalformed)
	}
	buf, err := ParseUserBuf(t.UserBuf)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	k := &PrivateMapKey{Token: t, Buf: buf}
	if err := t.checkClaims(sdkAppID, userID); err != nil {
		return k, err
	}
	if now.Unix() > int64(buf.ExpireTime) {
		return k, fmt.Errorf("%w: userbuf expired at %d, now %d", ErrExpired, buf.ExpireTime, now.Unix())
	}
	if err := t.checkExpiryAndMAC(key, now); err != nil {
		return k, err
	}
	if !buf.grants(room) {
		return k, fmt.Errorf("%w: key is for room %s, entering %s", ErrRoomMismatch, buf.Room(), room)
	}
	// An authentic official key always agrees with its own header; a key that
	// does not was minted by something else with the app's secret.
	if buf.Account != t.Identifier || uint64(buf.SDKAppID) != t.SDKAppID {
		return k, fmt.Errorf("%w: userbuf names %q of app %d, header %q of app %d",
			ErrMalformed, buf.Account, buf.SDKAppID, t.Identifier, t.SDKAppID)
	}
	return k, nil
}

func (t *Token) check(key string, sdkAppID uint32, userID string, now time.Time) error {
	if err := t.checkClaims(sdkAppID, userID); err != nil {
		return err
	}
	return t.checkExpiryAndMAC(key, now)
}

func (t *Token) checkClaims(sdkAppID uint32, userID string) error {
	if t.SDKAppID != uint64(sdkAppID) {
		return fmt.Errorf("%w: token is for app %d, not %d", ErrWrongSDKAppID, t.SDKAppID, sdkAppID)
	}
	if t.Identifier != userID {
		return fmt.Errorf("%w: token is for user %q, not %q", ErrWrongUser, t.Identifier, userID)
	}
	return nil
}

func (t *Token) checkExpiryAndMAC(key string, now time.Time) error {
	if now.Unix() > t.Expires() {
		return fmt.Errorf("%w: valid until %d, now %d", ErrExpired, t.Expires(), now.Unix())
	}
	if !t.validMAC(key) {
		return fmt.Errorf("%w: HMAC mismatch", ErrBadSignature)
	}
	return nil
}
