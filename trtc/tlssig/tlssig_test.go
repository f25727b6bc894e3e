package tlssig

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

const (
	testKey = "9d3c0f5e1b7a4c2d8e6f0a1b3c5d7e9f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c1d"
	testApp = 1400188366
)

var t0 = time.Unix(1735689600, 0)

func TestUserSigRoundTripAndExpiryBoundary(t *testing.T) {
	sig := GenUserSig(testKey, testApp, "alice", time.Hour, t0)
	if _, err := VerifyUserSig(testKey, testApp, "alice", sig, t0.Add(time.Hour)); err != nil {
		t.Fatalf("valid at exactly time+expire: %v", err)
	}
	_, err := VerifyUserSig(testKey, testApp, "alice", sig, t0.Add(time.Hour+time.Second))
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("one second later: %v, want expired", err)
	}
}

func TestUserSigRefusals(t *testing.T) {
	sig := GenUserSig(testKey, testApp, "alice", time.Hour, t0)
	for _, tc := range []struct {
		story  string
		key    string
		app    uint32
		user   string
		sig    string
		reason string
	}{
		{"another user cannot reuse alice's userSig", testKey, testApp, "mallory", sig, "wrong_user"},
		{"alice's userSig does not open another app", testKey, testApp + 1, "alice", sig, "wrong_sdkappid"},
		{"a key from another app does not verify", strings.Repeat("0", 64), testApp, "alice", sig, "bad_signature"},
		{"a truncated token is malformed", testKey, testApp, "alice", sig[:len(sig)/2], "malformed"},
		{"RFC 4648 base64url is not Tencent's alphabet", testKey, testApp, "alice", strings.NewReplacer("*", "-", "-", "_").Replace(sig), "malformed"},
		{"a huge token is refused before decoding", testKey, testApp, "alice", strings.Repeat("A", MaxTokenLen+1), "malformed"},
	} {
		_, err := VerifyUserSig(tc.key, tc.app, tc.user, tc.sig, t0)
		if got := Reason(err); got != tc.reason {
			t.Errorf("%s: reason %s (%v), want %s", tc.story, got, err, tc.reason)
		}
	}
}

func TestZlibBombIsCapped(t *testing.T) {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write([]byte(`{"TLS.identifier":"` + strings.Repeat("a", 1<<20) + `"}`))
	w.Close()
	token := stdToToken.Replace(base64.StdEncoding.EncodeToString(z.Bytes()))
	if len(token) > MaxTokenLen {
		t.Fatalf("bomb token is %d characters; the test needs one under the length cap", len(token))
	}
	_, err := Decode(token)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "inflates to more than") {
		t.Fatalf("1 MiB bomb: %v", err)
	}
}

func TestPrivateMapKeyRooms(t *testing.T) {
	numeric := GenPrivateMapKey(testKey, testApp, "bob", time.Hour, t0, Room{ID: 123}, PrivEnterRoom|PrivRecvAudio|PrivRecvVideo)
	str := GenPrivateMapKey(testKey, testApp, "bob", time.Hour, t0, Room{Str: "123"}, PrivAll)
	for _, tc := range []struct {
		story  string
		key    string
		room   Room
		reason string
	}{
		{"a numeric key opens its numeric room", numeric, Room{ID: 123}, "ok"},
		{"a numeric key does not open another numeric room", numeric, Room{ID: 124}, "room_mismatch"},
		{"numeric 123 and string \"123\" are different rooms", numeric, Room{Str: "123"}, "room_mismatch"},
		{"a string key opens its string room", str, Room{Str: "123"}, "ok"},
		{"a string key does not open the numeric room of the same digits", str, Room{ID: 123}, "room_mismatch"},
	} {
		k, err := VerifyPrivateMapKey(testKey, testApp, "bob", tc.key, tc.room, t0)
		if got := Reason(err); got != tc.reason {
			t.Errorf("%s: reason %s (%v)", tc.story, got, err)
		}
		if k == nil || k.Buf == nil {
			t.Errorf("%s: decoded key not returned", tc.story)
		}
	}
}

func TestPrivateMapKeyUserBufExpiry(t *testing.T) {
	// A userbuf that expires before the token header does: both must hold.
	buf := (&UserBuf{Account: "bob", SDKAppID: testApp, RoomID: 5, ExpireTime: uint32(t0.Unix() + 10), Privilege: PrivAll}).Marshal()
	key := sign(testKey, testApp, "bob", time.Hour, t0, buf)
	if _, err := VerifyPrivateMapKey(testKey, testApp, "bob", key, Room{ID: 5}, t0.Add(10*time.Second)); err != nil {
		t.Fatalf("at userbuf expiry: %v", err)
	}
	_, err := VerifyPrivateMapKey(testKey, testApp, "bob", key, Room{ID: 5}, t0.Add(11*time.Second))
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("after userbuf expiry: %v, want expired", err)
	}
}

func TestUserBufMustAgreeWithHeader(t *testing.T) {
	buf := (&UserBuf{Account: "eve", SDKAppID: testApp, RoomID: 5, ExpireTime: uint32(t0.Unix() + 60), Privilege: PrivAll}).Marshal()
	key := sign(testKey, testApp, "bob", time.Hour, t0, buf)
	if _, err := VerifyPrivateMapKey(testKey, testApp, "bob", key, Room{ID: 5}, t0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("userbuf for another account: %v, want malformed", err)
	}
}

func TestPrivilegeNames(t *testing.T) {
	p := Privilege(171)
	if got := strings.Join(p.Names(), ","); got != "create_room,enter_room,recv_audio,recv_video,recv_sub_video" {
		t.Fatalf("171 = %s", got)
	}
	if !p.CanEnterRoom() || p.CanSendVideo() || p.CanSendAudio() || !p.CanRecvSubVideo() {
		t.Fatalf("audience map 171 grants the wrong things: %s", p)
	}
	if len(Privilege(0).Names()) != 0 || len(PrivAll.Names()) != 8 {
		t.Fatal("0 must grant nothing and 255 everything")
	}
}

func TestParseUserBufRejectsBrokenBuffers(t *testing.T) {
	good := (&UserBuf{Account: "carol", SDKAppID: 1, StrRoomID: "lobby"}).Marshal()
	for _, b := range [][]byte{
		nil,
		good[:10],
		good[:len(good)-1],
		append(append([]byte{}, good...), 0),
		append([]byte{2}, good[1:]...),
	} {
		if _, err := ParseUserBuf(b); err == nil {
			t.Errorf("ParseUserBuf(%x) accepted a broken buffer", b)
		}
	}
}
