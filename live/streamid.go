package live

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// streamID is a parsed TRTC stream id: whose stream, in which room, and
// which of the member's streams.
type streamID struct {
	app    uint32
	room   tlssig.Room
	userID string
	// video is the stream named by the suffix: "_main" the camera
	// (sfu.SourceMain), "_aux" the sub-stream, a screen share
	// (sfu.SourceSub).
	video sfu.Source
}

// streamSuffixes are TRTC's stream types, as stream ids end.
var streamSuffixes = []struct {
	suffix string
	video  sfu.Source
}{{"_main", sfu.SourceMain}, {"_aux", sfu.SourceSub}}

// parseStreamID reads "{sdkAppId}_{roomId}_{userId}_main" (the camera and
// microphone) or "..._aux" (the sub-stream); user ids may contain
// underscores, so the user is everything between the room and the suffix.
// ?strroomid= names a string room instead.
func parseStreamID(name string, q url.Values) (streamID, *trtc.Error) {
	bad := func(why string) (streamID, *trtc.Error) {
		return streamID{}, trtc.Errorf(trtc.CodeParamCheckFailed, "stream name %q: %s (want {sdkAppId}_{roomId}_{userId}_main or _aux)", name, why)
	}
	var rest string
	var video sfu.Source
	for _, s := range streamSuffixes {
		if r, ok := strings.CutSuffix(name, s.suffix); ok {
			rest, video = r, s.video
			break
		}
	}
	if video == 0 {
		return bad("no _main or _aux suffix")
	}
	appText, rest, ok1 := strings.Cut(rest, "_")
	roomText, user, ok2 := strings.Cut(rest, "_")
	if !ok1 || !ok2 || user == "" {
		return bad("missing parts")
	}
	app, err := strconv.ParseUint(appText, 10, 32)
	if err != nil || app == 0 {
		return bad("sdkAppId is not a number")
	}
	room, e := trtc.ParseRoom(roomText, query(q, "strroomid"))
	if e != nil {
		return streamID{}, e
	}
	return streamID{app: uint32(app), room: room, userID: user, video: video}, nil
}

// credentials are what user presents in the query for the stream's room
// (the pusher itself, or a viewer).
func (id streamID) credentials(user string, q url.Values) trtc.Credentials {
	return trtc.Credentials{SDKAppID: id.app, UserID: user, UserSig: query(q, "usersig"),
		PrivateMapKey: query(q, "privatemapkey"), Room: id.room}
}

// query reads a parameter whatever its case: live-pusher writes
// "usersig", hand-made URLs often "userSig".
func query(q url.Values, name string) string {
	if v := q.Get(name); v != "" {
		return v
	}
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
