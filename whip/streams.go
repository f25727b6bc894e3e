package whip

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
)

// publishedVideo is the source of each video section of a WHIP offer, from
// ?stream= (main, the default, or aux: a screen share alone) and ?video=
// (a list, for an offer with several video sections: main,small).
func publishedVideo(q url.Values) ([]sfu.Source, error) {
	stream, err := wayin.VideoSource(q.Get("stream"))
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	var names []string
	if v := q.Get("video"); v != "" {
		names = strings.Split(v, ",")
	}
	video, err := wayin.VideoSources(names)
	if err != nil {
		return nil, fmt.Errorf("video: %w", err)
	}
	switch {
	case stream == sfu.SourceSmall:
		return nil, errors.New("stream=small: the small stream is a second video section of the camera's publish (?video=main,small)")
	case stream == sfu.SourceSub && video != nil && !wayin.ScreenOnly(video):
		return nil, errors.New("stream=aux publishes one video section, the screen (no ?video=)")
	case stream == sfu.SourceSub:
		return []sfu.Source{sfu.SourceSub}, nil
	}
	return video, nil
}

// publishScreen is a WHIP publish of the screen share: a session beside
// the camera of a member already in the room (over WHIP, /ws or any way
// in), which it does not replace. It is not a member of its own: the
// credentials are checked without entering (no capacity is taken and
// nobody is forced offline), and it ends when the member leaves.
func (w *Server) publishScreen(rw http.ResponseWriter, r *http.Request, minKbps, maxKbps int) {
	user := r.PathValue("user")
	a, ok := w.admit(rw, r, trtc.Request{Intent: trtc.Check}, user)
	if !ok {
		return
	}
	m := w.Gate.Rooms.Current(a.Grant.App.SDKAppID, user)
	if m == nil || m.Room.Key != a.RoomKey {
		wayin.WriteError(rw, trtc.Errorf(trtc.CodeParamCheckFailed,
			"%q is not in the room: a screen share goes beside a member's camera, so publish the camera (WHIP) or join (/ws) first", user).
			WithHTTPStatus(http.StatusConflict))
		return
	}
	offer, ok := readSDP(rw, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), negotiationTimeout)
	defer cancel()
	p := a.Grant.Privilege
	sess, answer, err := w.SFU.Publish(ctx, sfu.PublishRequest{
		Room: a.RoomKey, UserID: user, Offer: offer, Video: []sfu.Source{sfu.SourceSub},
		MinBitrate: minKbps, MaxBitrate: maxKbps,
		AllowVideo: p.CanSendVideo(), AllowSub: p.CanSendSubVideo(),
	})
	if err == nil {
		go endWithMember(sess, m)
	}
	w.answer(rw, "/whip/session/", sess, answer, err)
}

// endWithMember closes sess once m has left the room or been replaced.
func endWithMember(sess *sfu.Session, m *trtc.Member) {
	select {
	case <-sess.Done():
	case <-m.Done():
		sess.Close()
	}
}
