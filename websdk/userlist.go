package websdk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strings"
	"sync"

	"github.com/trtcd/trtcd/trtc"
)

// TinyID is the number the SDK knows a user by. It is derived from the
// userId, so every connection, every entry point (WHIP, RTMP, /ws) and every
// node agrees on it without a table. It is keyed by the app's secret key:
// an unkeyed hash of 52 bits is cheap to invert, and a member who chose a
// userId with another's tinyId would have the SDK, and subscribe_change,
// take one for the other. It stays below 2^52 because the SDK keeps it in a
// JavaScript number and compares it with ===; it is never 0, which the SDK
// treats as "no user".
func TinyID(appKey, userID string) uint64 {
	key := appKey + "\x00" + userID
	tinyIDs.mu.Lock()
	id, ok := tinyIDs.m[key]
	tinyIDs.mu.Unlock()
	if ok {
		return id
	}
	id = keyedTinyID(appKey, userID)
	tinyIDs.mu.Lock()
	if len(tinyIDs.m) >= maxTinyIDs {
		clear(tinyIDs.m) // users come and go: start again rather than keep them all
	}
	tinyIDs.m[key] = id
	tinyIDs.mu.Unlock()
	return id
}

// tinyIDs remembers the tinyIds worked out: every member list and every
// publishers push names every member, to every member, so a class of 200
// would work out 40,000 HMACs for one mute.
var tinyIDs = struct {
	mu sync.Mutex
	m  map[string]uint64
}{m: map[string]uint64{}}

// maxTinyIDs bounds tinyIDs.
const maxTinyIDs = 100_000

func keyedTinyID(appKey, userID string) uint64 {
	mac := hmac.New(sha256.New, []byte(appKey))
	mac.Write([]byte("trtcd tinyId\x00"))
	mac.Write([]byte(userID))
	id := binary.BigEndian.Uint64(mac.Sum(nil)) & (1<<52 - 1)
	if id == 0 {
		id = 1
	}
	return id
}

// The flag bits of a published-user entry (cmd 23).
const (
	flagVideo      = 1  // main (camera) video
	flagSmallVideo = 2  // the downscaled copy of the main video
	flagAuxVideo   = 4  // screen share
	flagAudio      = 8  //
	flagVideoMuted = 16 //
	flagAudioMuted = 64 //
)

// publishFlags is a member's entry flags: what it sends, and what of that
// it has muted. Bits 2 and 4 tell the SDK about the small stream (which
// setRemoteVideoStreamType switches to) and the screen share (which it
// reports as a stream of type "auxiliary" on the downlink it already has).
func publishFlags(m trtc.MemberInfo) int {
	f := 0
	if m.Audio {
		f |= flagAudio
		if m.AudioMuted {
			f |= flagAudioMuted
		}
	}
	if m.Video {
		f |= flagVideo
		if m.VideoMuted {
			f |= flagVideoMuted
		}
	}
	if m.Small {
		f |= flagSmallVideo
	}
	if m.Sub {
		f |= flagAuxVideo
	}
	return f
}

// publishing are the flag bits that make an entry a publisher.
const publishing = flagAudio | flagVideo | flagSmallVideo | flagAuxVideo

// publisher is an entry of cmd 23 and of the join reply's publishers.
type publisher struct {
	UserID    string `json:"userId"`
	SrcTinyID uint64 `json:"srcTinyId"`
	Flag      int    `json:"flag"`
}

// publishers lists the members that publish something, sorted so that
// frames are stable. The SDK treats this list as complete: a user with a
// subscription who is missing is taken as having stopped publishing.
// Without screens (a viewer whose privateMapKey lacks bit 128) the list
// does not mention screen shares: the SDK announces a screen by its flag
// alone, and would show a stream that can never play.
func publishers(members []trtc.MemberInfo, screens bool, appKey string) []publisher {
	out := []publisher{}
	for _, m := range members {
		f := publishFlags(m)
		if !screens {
			f &^= flagAuxVideo
		}
		if f&publishing != 0 {
			out = append(out, publisher{UserID: m.UserID, SrcTinyID: TinyID(appKey, m.UserID), Flag: f})
		}
	}
	slices.SortFunc(out, func(a, b publisher) int { return strings.Compare(a.UserID, b.UserID) })
	return out
}

// Roles as the SDK numbers them.
const (
	roleAnchor   = 20
	roleAudience = 21
)

// user is an entry of the user list (4137) and a peer-join (4134).
type user struct {
	UserID    string `json:"userId"`
	SrcTinyID uint64 `json:"srcTinyId"`
	Role      int    `json:"role"`
}

// users lists every member. It must be complete: the SDK takes a known
// user missing from it as having left. Everyone is an anchor: trtcd's rooms
// do not record roles, and the SDK only logs them.
func users(members []trtc.MemberInfo, appKey string) []user {
	out := make([]user, 0, len(members))
	for _, m := range members {
		out = append(out, user{UserID: m.UserID, SrcTinyID: TinyID(appKey, m.UserID), Role: roleAnchor})
	}
	slices.SortFunc(out, func(a, b user) int { return strings.Compare(a.UserID, b.UserID) })
	return out
}

// leaveReason is the reason number of a peer-leave (4135) for a registry
// leave reason (the SDK only logs it).
func leaveReason(reason string) int {
	switch reason {
	case "timeout":
		return 1
	case "kicked", "replaced", "room-closed":
		return 2
	}
	return 0
}
