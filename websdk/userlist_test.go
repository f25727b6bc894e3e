package websdk

import (
	"strings"
	"testing"

	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/trtc"
)

func TestTinyIDIsStableSmallAndNonZero(t *testing.T) {
	seen := map[uint64]string{}
	for _, u := range []string{"", "alice", "bob", "Alice", "用户", "a-very-long-user-id-of-thirty-two-bytes!"} {
		id := TinyID(testKey, u)
		if id == 0 || id >= 1<<52 || id != TinyID(testKey, u) {
			t.Errorf("TinyID(%q) = %d", u, id)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%q and %q share tinyId %d", u, other, id)
		}
		seen[id] = u
	}
}

// The unkeyed 52-bit FNV-1a that tinyIds were is inverted in a minute: a
// review found "QaeqATd97L", which had the tinyId of "teacher-ms-li". Keyed
// by the app's secret, the two differ, and so does one user's tinyId in
// two apps.
func TestTinyIDsAreKeyedByTheAppsSecret(t *testing.T) {
	if TinyID(testKey, "QaeqATd97L") == TinyID(testKey, "teacher-ms-li") {
		t.Fatal("a userId chosen to collide with another still shares its tinyId")
	}
	if TinyID(testKey, "alice") == TinyID("another app's key", "alice") {
		t.Fatal("the tinyId does not depend on the app's key")
	}
}

func TestPublishFlags(t *testing.T) {
	for _, c := range []struct {
		name string
		m    trtc.MemberInfo
		want int
	}{
		{"audio and video", trtc.MemberInfo{Audio: true, Video: true}, 9},
		{"audio and video, both muted", trtc.MemberInfo{Audio: true, Video: true, AudioMuted: true, VideoMuted: true}, 9 | 16 | 64},
		{"video only, muted", trtc.MemberInfo{Video: true, VideoMuted: true}, 1 | 16},
		{"audio only", trtc.MemberInfo{Audio: true}, 8},
		{"muted but not publishing", trtc.MemberInfo{AudioMuted: true, VideoMuted: true}, 0},
		{"camera with its small stream", trtc.MemberInfo{Audio: true, Video: true, Small: true}, 9 | 2},
		{"camera and screen share", trtc.MemberInfo{Audio: true, Video: true, Sub: true}, 9 | 4},
		{"screen share only", trtc.MemberInfo{Sub: true}, 4},
	} {
		if got := publishFlags(c.m); got != c.want {
			t.Errorf("%s: flag %d, want %d", c.name, got, c.want)
		}
	}
}

// The published-user list names only publishers, in a stable order.
func TestPublishersListsPublishersOnly(t *testing.T) {
	members := []trtc.MemberInfo{{UserID: "zoe", Audio: true}, {UserID: "viewer"}, {UserID: "amy", Video: true, Audio: true, Sub: true},
		{UserID: "sam", Sub: true}}
	got := publishers(members, true, testKey)
	if len(got) != 3 || got[0].UserID != "amy" || got[1].UserID != "sam" || got[2].UserID != "zoe" || got[0].Flag != 9|4 ||
		got[1].Flag != 4 || got[0].SrcTinyID != TinyID(testKey, "amy") {
		t.Fatalf("publishers: %+v", got)
	}
	// A viewer who may not receive screens is not told of them: the
	// member who only shares a screen is not a publisher for them.
	got = publishers(members, false, testKey)
	if len(got) != 2 || got[0].UserID != "amy" || got[0].Flag != 9 || got[1].UserID != "zoe" {
		t.Fatalf("publishers for a viewer without bit 128: %+v", got)
	}
	if publishers(nil, true, testKey) == nil {
		t.Fatal("an empty list must encode as [], not null")
	}
}

func TestJoinRoomIDs(t *testing.T) {
	for _, c := range []struct {
		d    joinData
		want string // RoomKey, "" for a refusal
	}{
		{joinData{RoomID: "1234"}, "1/1234"},
		{joinData{RoomID: "4294967295"}, "1/4294967295"},
		{joinData{RoomID: "1234", UseStringRoomID: true}, "1/s:1234"}, // another namespace
		{joinData{RoomID: "class 7", UseStringRoomID: true}, "1/s:class 7"},
		{joinData{RoomID: "0"}, ""},
		{joinData{RoomID: "4294967296"}, ""},
		{joinData{RoomID: "abc"}, ""},
		{joinData{RoomID: "", UseStringRoomID: true}, ""},
		{joinData{RoomID: strings.Repeat("a", 65), UseStringRoomID: true}, ""},
		{joinData{RoomID: "class/7", UseStringRoomID: true}, ""}, // the same character set as every way in
	} {
		room, e := c.d.room()
		got := ""
		if e == nil {
			got = trtc.RoomKey(1, room)
		} else if e.Code != trtc.CodeMissingRoomID && e.Code != trtc.CodeParamCheckFailed {
			t.Errorf("%+v: code %d", c.d, e.Code)
		}
		if got != c.want {
			t.Errorf("%+v: room %q, want %q", c.d, got, c.want)
		}
	}
}

func TestVideoRange(t *testing.T) {
	l := wayin.DefaultBitrateLimits // 400–800 within 100–4000
	for _, c := range []struct{ bps, min, max int }{
		{0, 400, 800},
		{500_000, 400, 500},
		{200_000, 200, 200}, // a low profile: the floor follows the ceiling down
		{50_000, 100, 100},
		{10_000_000, 400, 4000},
	} {
		if lo, hi := videoRange(l, c.bps); lo != c.min || hi != c.max {
			t.Errorf("videoBps %d: %d–%d kbps, want %d–%d", c.bps, lo, hi, c.min, c.max)
		}
	}
}

// Every command the SDK waits on gets the reply number it waits for.
func TestCommandReplies(t *testing.T) {
	want := map[string]int{
		"get_user_list": 4137, "publish": 4098, "unpublish": 4100, "subscribe": 4102, "unsubscribe": 4104,
		"subscribe_change": 4106, "mute_uplink": 4108, "change_role": 4110, "publish_state_change": 4112,
		"update_constraint_config": 772, "leave": 0, "quality_report": 0,
		"start_publishing": 1286, "stop_publishing": 1288, "start_push_user_cdn": 777, "stop_push_user_cdn": 779,
		"start_mcu_mix": 781, "stop_mcu_mix": 783, "connect_other_room": 8209, "disconnect_other_room": 8211,
		"update_other_room_forward_mode": 8213, "publish_change": 4128,
	}
	for name, reply := range want {
		got, ok := commands[name].reply, true
		if _, known := commands[name]; !known {
			got, ok = unsupported[name]
		}
		if !ok || got != reply {
			t.Errorf("%s: reply %d, want %d", name, got, reply)
		}
	}
	if len(commands)+len(unsupported) != len(want) {
		t.Errorf("%d commands served, %d in this table", len(commands)+len(unsupported), len(want))
	}
}
