package tlssig

import "errors"

// The reasons a token is refused. Verification wraps exactly one of these, so
// callers tell them apart with errors.Is or Reason; the wrapped text gives the
// detail (which check, which field).
var (
	// ErrMalformed: the token cannot be decoded (base64, zlib, JSON, a required
	// field missing or ill-typed, or an unparsable privateMapKey userbuf).
	ErrMalformed = errors.New("malformed")
	// ErrWrongSDKAppID: TLS.sdkappid is not the application the client claims.
	ErrWrongSDKAppID = errors.New("wrong_sdkappid")
	// ErrWrongUser: TLS.identifier is not the user the client claims to be.
	ErrWrongUser = errors.New("wrong_user")
	// ErrExpired: now > TLS.time + TLS.expire, or past the userbuf expiry.
	ErrExpired = errors.New("expired")
	// ErrBadSignature: the HMAC does not match under the application's key.
	ErrBadSignature = errors.New("bad_signature")
	// ErrRoomMismatch: a privateMapKey is for another room (numeric and string
	// room ids are separate namespaces).
	ErrRoomMismatch = errors.New("room_mismatch")
)

var reasons = []error{ErrMalformed, ErrWrongSDKAppID, ErrWrongUser, ErrExpired, ErrBadSignature, ErrRoomMismatch}

// Reason names the check an error failed: "ok" for nil, one of the sentinel
// names above, or "malformed" for an error that wraps none of them.
func Reason(err error) string {
	if err == nil {
		return "ok"
	}
	for _, r := range reasons {
		if errors.Is(err, r) {
			return r.Error()
		}
	}
	return ErrMalformed.Error()
}
