package live

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// streamID is a parsed TRTC stream id: whose stream, in which room.
type streamID struct {
	app    uint32
	room   tlssig.Room
	userID string
}

// parseStreamID reads "{sdkAppId}_{roomId}_{userId}_main"; user ids may
// contain underscores, so the user is everything between the room and the
// "_main" suffix. ?strroomid= names a string room instead.
func parseStreamID(name string, q url.Values) (streamID, *trtc.Error) {
	bad := func(why string) (streamID, *trtc.Error) {
		return streamID{}, trtc.Errorf(trtc.CodeParamCheckFailed, "stream name %q: %s (want {sdkAppId}_{roomId}_{userId}_main)", name, why)
	}
	rest, ok := strings.CutSuffix(name, "_main")
	if !ok {
		return bad("no _main suffix")
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
	return streamID{app: uint32(app), room: room, userID: user}, nil
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
