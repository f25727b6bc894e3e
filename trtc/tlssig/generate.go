package tlssig

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"time"
)

// DefaultExpire is the lifetime the official libraries use when none is given.
const DefaultExpire = 180 * 24 * time.Hour

// wireToken is the JSON document in the field order of Tencent's Go library,
// so that our tokens are byte-identical to its tokens for the same inputs.
type wireToken struct {
	Version    string `json:"TLS.ver,omitempty"`
	Identifier string `json:"TLS.identifier,omitempty"`
	SDKAppID   uint64 `json:"TLS.sdkappid,omitempty"`
	Expire     int64  `json:"TLS.expire,omitempty"`
	Time       int64  `json:"TLS.time,omitempty"`
	UserBuf    string `json:"TLS.userbuf,omitempty"`
	Sig        string `json:"TLS.sig,omitempty"`
}

// GenUserSig mints a userSig for userID of application sdkAppID, valid from
// now for expire.
func GenUserSig(key string, sdkAppID uint32, userID string, expire time.Duration, now time.Time) string {
	return sign(key, sdkAppID, userID, expire, now, nil)
}

// GenPrivateMapKey mints a privateMapKey granting priv in room to userID.
func GenPrivateMapKey(key string, sdkAppID uint32, userID string, expire time.Duration, now time.Time, room Room, priv Privilege) string {
	buf := &UserBuf{
		Account:    userID,
		SDKAppID:   sdkAppID,
		RoomID:     room.ID,
		ExpireTime: uint32(now.Unix() + int64(expire/time.Second)),
		Privilege:  priv,
		StrRoomID:  room.Str,
	}
	if room.IsString() {
		buf.RoomID = 0
	}
	return sign(key, sdkAppID, userID, expire, now, buf.Marshal())
}

func sign(key string, sdkAppID uint32, userID string, expire time.Duration, now time.Time, userBuf []byte) string {
	t := &Token{
		Version:    "2.0",
		Identifier: userID,
		SDKAppID:   uint64(sdkAppID),
		Time:       now.Unix(),
		Expire:     int64(expire / time.Second),
		UserBuf:    userBuf,
	}
	if userBuf != nil {
		t.userBufText = base64.StdEncoding.EncodeToString(userBuf)
	}
	t.Sig = t.mac(key)
	doc := wireToken{
		Version:    t.Version,
		Identifier: t.Identifier,
		SDKAppID:   t.SDKAppID,
		Expire:     t.Expire,
		Time:       t.Time,
		UserBuf:    t.userBufText,
		Sig:        base64.StdEncoding.EncodeToString(t.Sig),
	}
	// Tencent's Go library stores the JSON uncompressed inside zlib and ends
	// it with the encoder's newline; we do the same, byte for byte.
	var out bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&out, zlib.NoCompression) // the level is valid
	if err := json.NewEncoder(zw).Encode(doc); err != nil {
		panic(err) // a struct of strings and integers always encodes
	}
	zw.Close()
	return stdToToken.Replace(base64.StdEncoding.EncodeToString(out.Bytes()))
}
