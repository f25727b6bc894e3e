package live

import (
	"net/url"
	"testing"

	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// A stream id names whose stream, in which room, and which of the member's
// streams: "_main" the camera, "_aux" the screen share.
func TestStreamIDs(t *testing.T) {
	for _, c := range []struct {
		name, query string
		want        streamID
		bad         bool
	}{
		{name: "1400000001_1234_alice_main", want: streamID{app: 1400000001, room: tlssig.Room{ID: 1234}, userID: "alice", video: sfu.SourceMain}},
		{name: "1400000001_1234_alice_aux", want: streamID{app: 1400000001, room: tlssig.Room{ID: 1234}, userID: "alice", video: sfu.SourceSub}},
		{name: "1400000001_1234_al_ice_aux", want: streamID{app: 1400000001, room: tlssig.Room{ID: 1234}, userID: "al_ice", video: sfu.SourceSub}},
		{name: "1400000001_1234_alice_aux_main", want: streamID{app: 1400000001, room: tlssig.Room{ID: 1234}, userID: "alice_aux", video: sfu.SourceMain}},
		{name: "1400000001_0_alice_aux", query: "strroomid=class-a", want: streamID{app: 1400000001, room: tlssig.Room{Str: "class-a"}, userID: "alice", video: sfu.SourceSub}},
		{name: "1400000001_1234_alice", bad: true},
		{name: "1400000001_1234_alice_small", bad: true},
		{name: "1400000001_1234__aux", bad: true},
		{name: "1400000001_aux", bad: true},
		{name: "x_1234_alice_aux", bad: true},
	} {
		q, _ := url.ParseQuery(c.query)
		got, e := parseStreamID(c.name, q)
		switch {
		case c.bad && (e == nil || e.Code != trtc.CodeParamCheckFailed):
			t.Errorf("%s: got %+v, %v; want code %d", c.name, got, e, trtc.CodeParamCheckFailed)
		case !c.bad && (e != nil || got != c.want):
			t.Errorf("%s?%s: got %+v, %v; want %+v", c.name, c.query, got, e, c.want)
		}
	}
}

// FuzzParseStreamID: any name parses or is refused with 82 (or the room
// id's own code), and a parsed one names a user and the main or sub video.
func FuzzParseStreamID(f *testing.F) {
	for _, s := range []string{"1400000001_1234_alice_main", "1400000001_1234_alice_aux", "1_2__aux", "_aux", "1_2_3_main_aux"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		id, e := parseStreamID(name, nil)
		if e != nil {
			if e.Code != trtc.CodeParamCheckFailed && e.Code != trtc.CodeMissingRoomID {
				t.Fatalf("%q: code %d", name, e.Code)
			}
			return
		}
		if id.userID == "" || id.app == 0 || id.video != sfu.SourceMain && id.video != sfu.SourceSub {
			t.Fatalf("%q parsed as %+v", name, id)
		}
	})
}
