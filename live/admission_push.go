package live

import (
	"context"
	"errors"
	"net/url"

	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/rtmp"
	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
)

// Publish implements rtmp.Handler: the pusher enters its room at the gate,
// sending audio, and video unless it pushes pure audio; its stream then
// joins the fan-out. A bad stream name is refused with
// NetStream.Publish.BadName, credentials or privileges that do not admit
// it with NetStream.Publish.Unauthorized, and the room's rules (full, a
// different recordId) with NetStream.Publish.Rejected.
func (s *Server) Publish(ctx context.Context, c *rtmp.ConnInfo, app, name string, q url.Values) (rtmp.Publisher, error) {
	id, e := parseStreamID(name, q)
	if e == nil && id.video != sfu.SourceMain {
		e = trtc.Errorf(trtc.CodeParamCheckFailed, "stream name %q: an RTMP push is the member's main stream (_main); the sub-stream (_aux) is published over WebRTC", name)
	}
	var rec trtc.RecordParams
	if e == nil {
		var err error
		if rec, err = trtc.ParseRecordParams(recordIDParam(q), pureAudioParam(q)); err != nil {
			e = trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
		}
	}
	if e != nil {
		return nil, refuse("NetStream.Publish.BadName", e)
	}
	audioOnly := rec.PureAudio != 0
	sends, kinds := trtc.Audio|trtc.Video, []sfu.Source{sfu.SourceAudio, sfu.SourceMain}
	if audioOnly {
		sends, kinds = trtc.Audio, kinds[:1]
	}
	peer := &wayin.SessionPeer{}
	a, e := s.Gate.Admit(ctx, trtc.Request{Credentials: id.credentials(id.userID, q), Intent: trtc.Enter,
		Sends: sends, Record: rec, Peer: peer, Template: query(q, "template")})
	if e != nil {
		return nil, refuse(pushRefusal(a), e)
	}
	rooms, m := s.Gate.Rooms, a.Member
	sess, err := s.SFU.Join(a.RoomKey, id.userID, kinds...)
	if err != nil {
		rooms.Leave(m, "leave")
		return nil, refuse("NetStream.Publish.Rejected", trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err))
	}
	peer.Set(sess)
	s.logger().Info("rtmp publish", "room", a.RoomKey, "user", id.userID, "remote", c.RemoteAddr, "audio_only", audioOnly)
	in := NewIngest(sess, IngestConfig{ID: id.userID, AudioOnly: audioOnly, Logger: s.logger(), OnBFrames: s.OnBFrames,
		Transcoder: s.transcoder()})
	trtc.StartRecording(s.Recorder, rooms, m, s.logger())
	return &pusher{Ingest: in, sess: sess, leave: func() { rooms.Leave(m, "leave") }}, nil
}

// pushRefusal is the onStatus of a push the gate refused: the gate hands
// back the admission with the error when the credentials were good and
// the room's rules said no.
func pushRefusal(a *trtc.Admission) string {
	if a != nil {
		return "NetStream.Publish.Rejected"
	}
	return "NetStream.Publish.Unauthorized"
}

// recordIDParam: the old component's recordid, or the newer SDKs'
// userdefinerecordid.
func recordIDParam(q url.Values) string {
	if v := query(q, "recordid"); v != "" {
		return v
	}
	return query(q, "userdefinerecordid")
}

func pureAudioParam(q url.Values) string {
	if v := query(q, "pureaudiomode"); v != "" {
		return v
	}
	return query(q, "pureaudiopushmod")
}

// pusher ends the member's session and membership with the push.
type pusher struct {
	*Ingest
	sess  *sfu.Session
	leave func()
}

// WriteTag stops the push once the member was kicked or replaced.
func (p *pusher) WriteTag(t flv.Tag) error {
	select {
	case <-p.sess.Done():
		return errors.New("the session ended (kicked, replaced by another login, or the room closed)")
	default:
	}
	return p.Ingest.WriteTag(t)
}

func (p *pusher) Close() {
	p.Ingest.Close()
	p.sess.Close()
	p.leave()
}
