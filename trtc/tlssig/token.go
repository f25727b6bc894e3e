// Package tlssig reads and writes Tencent's TLS signature v2 tokens: the
// userSig every TRTC client presents and the privateMapKey that adds a room
// and privilege bits. The format is byte-compatible with Tencent's official
// tls-sig-api-v2 libraries: JSON, zlib, then base64 with '+', '/', '='
// replaced by '*', '-', '_'. The MAC is HMAC-SHA256 over fixed lines, keyed
// with the application's secret key string as configured.
package tlssig

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

const (
	// MaxTokenLen bounds the text of a token we try to decode. Official
	// tokens are a few hundred characters; a privateMapKey with the longest
	// allowed user id and room string stays under 1 KiB.
	MaxTokenLen = 4096
	// maxInflated caps the JSON a token may inflate to, so a zlib bomb costs
	// at most this much memory.
	maxInflated = 16 << 10
	macSize     = sha256.Size
)

// tokenAlphabet maps Tencent's URL-safe characters back to standard base64
// (and the reverse for encoding). This is not RFC 4648 base64url: '-' means
// '/' here, not '+'.
var (
	tokenToStd = strings.NewReplacer("*", "+", "-", "/", "_", "=")
	stdToToken = strings.NewReplacer("+", "*", "/", "-", "=", "_")
)

// Token is the decoded content of a userSig or privateMapKey.
type Token struct {
	Version    string // TLS.ver ("2.0"); not covered by the MAC
	Identifier string // TLS.identifier: the user id
	SDKAppID   uint64 // TLS.sdkappid
	Time       int64  // TLS.time: Unix seconds at generation
	Expire     int64  // TLS.expire: lifetime in seconds
	// UserBuf is the decoded TLS.userbuf (privateMapKeys only); nil when the
	// token has none.
	UserBuf []byte
	Sig     []byte // TLS.sig: the HMAC-SHA256

	// userBufText is TLS.userbuf exactly as received: the MAC covers this
	// string, not a re-encoding of the bytes.
	userBufText string
}

// HasUserBuf reports whether the token carries a TLS.userbuf field.
func (t *Token) HasUserBuf() bool { return t.UserBuf != nil }

// Expires returns the Unix second after which the token is no longer valid
// (it is still valid at exactly this second).
func (t *Token) Expires() int64 {
	if t.Expire > maxInt64-t.Time {
		return maxInt64
	}
	return t.Time + t.Expire
}

const maxInt64 = 1<<63 - 1

// Decode parses a token without checking it. Every failure wraps ErrMalformed.
func Decode(token string) (*Token, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, fmt.Errorf("%w: empty token", ErrMalformed)
	}
	if len(token) > MaxTokenLen {
		return nil, fmt.Errorf("%w: token longer than %d characters", ErrMalformed, MaxTokenLen)
	}
	compressed, err := base64.StdEncoding.DecodeString(tokenToStd.Replace(token))
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %v", ErrMalformed, err)
	}
	doc, err := inflate(compressed)
	if err != nil {
		return nil, fmt.Errorf("%w: zlib: %v", ErrMalformed, err)
	}
	t, err := parseJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return t, nil
}

func inflate(compressed []byte) ([]byte, error) {
	r, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// Reading to EOF makes the zlib reader check the Adler-32 trailer.
	doc, err := io.ReadAll(io.LimitReader(r, maxInflated+1))
	if err != nil {
		return nil, err
	}
	if len(doc) > maxInflated {
		return nil, fmt.Errorf("inflates to more than %d bytes", maxInflated)
	}
	return doc, nil
}

// parseJSON reads the fields by hand so that a missing or ill-typed field is
// an error (the official Go verifier silently zeroes them instead).
func parseJSON(doc []byte) (*Token, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(doc, &fields); err != nil {
		return nil, fmt.Errorf("json: %v", err)
	}
	if fields == nil {
		return nil, fmt.Errorf("json: not an object")
	}
	f := fieldReader{fields: fields}
	t := &Token{
		Identifier: f.str("TLS.identifier", true),
		SDKAppID:   f.uint("TLS.sdkappid"),
		Time:       f.int("TLS.time"),
		Expire:     f.int("TLS.expire"),
		Version:    f.str("TLS.ver", false),
	}
	if sig := f.str("TLS.sig", true); f.err == nil {
		t.Sig, f.err = decodeStdBase64("TLS.sig", sig)
		if f.err == nil && len(t.Sig) != macSize {
			f.err = fmt.Errorf("TLS.sig is %d bytes, want %d", len(t.Sig), macSize)
		}
	}
	if _, ok := fields["TLS.userbuf"]; ok && f.err == nil {
		t.userBufText = f.str("TLS.userbuf", true)
		if f.err == nil {
			t.UserBuf, f.err = decodeStdBase64("TLS.userbuf", t.userBufText)
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	return t, nil
}

func decodeStdBase64(field, s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not base64: %v", field, err)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// fieldReader extracts typed JSON fields, keeping the first error.
type fieldReader struct {
	fields map[string]json.RawMessage
	err    error
}

func (f *fieldReader) raw(name string, required bool) json.RawMessage {
	if f.err != nil {
		return nil
	}
	v, ok := f.fields[name]
	if !ok && required {
		f.err = fmt.Errorf("missing %s", name)
	}
	return v
}

func (f *fieldReader) str(name string, required bool) string {
	v := f.raw(name, required)
	if v == nil {
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		f.err = fmt.Errorf("%s is not a string", name)
	}
	return s
}

// number returns the literal text of a JSON integer field.
func (f *fieldReader) number(name string) string {
	v := f.raw(name, true)
	if v == nil {
		return ""
	}
	s := string(v)
	if len(s) == 0 || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		f.err = fmt.Errorf("%s is not a number", name)
	}
	return s
}

func (f *fieldReader) uint(name string) uint64 {
	s := f.number(name)
	if f.err != nil {
		return 0
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		f.err = fmt.Errorf("%s is not an unsigned integer: %s", name, s)
	}
	return n
}

func (f *fieldReader) int(name string) int64 {
	s := f.number(name)
	if f.err != nil {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		f.err = fmt.Errorf("%s is not a non-negative integer: %s", name, s)
	}
	return n
}

// mac computes the token's HMAC under key. The line order is fixed by the
// official libraries; JSON key order never matters.
func (t *Token) mac(key string) []byte {
	h := hmac.New(sha256.New, []byte(key))
	var line []byte
	line = append(line, "TLS.identifier:"...)
	line = append(line, t.Identifier...)
	line = append(line, "\nTLS.sdkappid:"...)
	line = strconv.AppendUint(line, t.SDKAppID, 10)
	line = append(line, "\nTLS.time:"...)
	line = strconv.AppendInt(line, t.Time, 10)
	line = append(line, "\nTLS.expire:"...)
	line = strconv.AppendInt(line, t.Expire, 10)
	line = append(line, '\n')
	if t.HasUserBuf() {
		line = append(line, "TLS.userbuf:"...)
		line = append(line, t.userBufText...)
		line = append(line, '\n')
	}
	h.Write(line)
	return h.Sum(nil)
}

// validMAC compares in constant time.
func (t *Token) validMAC(key string) bool {
	return hmac.Equal(t.mac(key), t.Sig)
}
