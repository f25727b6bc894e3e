package tlssig

import (
	"bytes"
	"testing"
	"time"
)

// FuzzDecode feeds arbitrary tokens through the whole verifier. Seeds are
// the shared vectors (real tokens from Tencent's generators and their
// mutations). Decoding must never panic, and inflation is capped.
func FuzzDecode(f *testing.F) {
	for _, c := range loadVectors(f) {
		f.Add(c.Sig)
	}
	f.Fuzz(func(t *testing.T, token string) {
		tok, err := Decode(token)
		if err != nil {
			if Reason(err) != "malformed" {
				t.Fatalf("decode error %v is not malformed", err)
			}
			return
		}
		if tok.HasUserBuf() {
			if buf, err := ParseUserBuf(tok.UserBuf); err == nil && !(buf.Version == 1 && buf.StrRoomID == "") {
				if !bytes.Equal(buf.Marshal(), tok.UserBuf) {
					t.Fatalf("userbuf %x re-encodes to %x", tok.UserBuf, buf.Marshal())
				}
			}
		}
		_, err = VerifyPrivateMapKey("k", uint32(tok.SDKAppID), tok.Identifier, token, Room{ID: 1}, time.Unix(tok.Time, 0))
		if err == nil {
			t.Fatalf("a random token verified under key %q", "k")
		}
	})
}

// FuzzParseUserBuf checks the binary userbuf parser on its own.
func FuzzParseUserBuf(f *testing.F) {
	for _, c := range loadVectors(f) {
		if tok, err := Decode(c.Sig); err == nil && tok.HasUserBuf() {
			f.Add(tok.UserBuf)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		buf, err := ParseUserBuf(b)
		if err != nil || (buf.Version == 1 && buf.StrRoomID == "") {
			return
		}
		if !bytes.Equal(buf.Marshal(), b) {
			t.Fatalf("userbuf %x re-encodes to %x", b, buf.Marshal())
		}
	})
}
