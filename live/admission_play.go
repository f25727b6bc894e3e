package live

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/trtcd/trtcd/rtmp"
	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
)

// Play implements rtmp.Handler. A player that gets no media for
// PublisherWait is told NetStream.Play.StreamNotFound (code 82) if nothing
// ever came, or NetStream.Play.Stop if the publisher left; TRTC's players
// then retry.
func (s *Server) Play(ctx context.Context, c *rtmp.ConnInfo, app, name string, q url.Values, w rtmp.TagWriter) error {
	v, e := s.admitPlayer(ctx, name, q)
	if e != nil {
		return refuse("NetStream.Play.Failed", e)
	}
	defer v.close()
	_, err := s.play(ctx, v, w)
	var absent *trtc.Error
	if errors.As(err, &absent) {
		return refuse("NetStream.Play.StreamNotFound", absent)
	}
	return err
}

// viewer is an admitted player: its room session and viewer slot.
type viewer struct {
	sess      *sfu.Session
	room      string
	publisher string
	cfg       PlayConfig
	release   func() // gives the viewer slot back
}

func (v *viewer) close() {
	v.sess.Close()
	v.release()
}

// admitPlayer watches a stream's publisher at the gate (which takes a
// viewer slot, per room and per user) and joins the stream's room as a
// viewer session.
func (s *Server) admitPlayer(ctx context.Context, name string, q url.Values) (*viewer, *trtc.Error) {
	id, e := parseStreamID(name, q)
	if e != nil {
		return nil, e
	}
	userID := query(q, "userid")
	if userID == "" {
		return nil, trtc.Errorf(trtc.CodeMissingUserID, "add ?userid=VIEWER&usersig=SIG to play")
	}
	req := trtc.Request{Credentials: id.credentials(userID, q), Intent: trtc.Watch, Publisher: id.userID}
	if id.video == sfu.SourceSub {
		req.Plays = trtc.Sub // bit 128, checked before a viewer slot is taken
	}
	a, e := s.Gate.Admit(ctx, req)
	if e != nil {
		return nil, e
	}
	p := a.Grant.Privilege
	cfg := PlayConfig{Logger: s.logger(), NoAudio: !p.CanRecvAudio(), NoVideo: !p.CanRecvVideo()}
	if id.video == sfu.SourceSub {
		// The sub-stream is the screen's video alone: TRTC's "_aux" stream
		// has no audio (the member's microphone, and a shared screen's
		// sound, are in its main stream).
		cfg = PlayConfig{Logger: s.logger(), NoAudio: true, Video: sfu.SourceSub}
	}
	v := &viewer{room: a.RoomKey, publisher: id.userID, release: a.Release, cfg: cfg}
	var err error
	if v.sess, err = s.SFU.Join(a.RoomKey, userID); err != nil {
		v.release()
		return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err)
	}
	return v, nil
}

// play sends the publisher's media to w until the player leaves, w fails,
// or no media came for PublisherWait. That last ends with a *trtc.Error
// (82, HTTP 404) when nothing ever came, and quietly when the publisher
// left. started says whether any tag went out.
func (s *Server) play(ctx context.Context, v *viewer, w TagWriter) (started bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watch := &mediaWatch{w: w, wait: s.publisherWait()}
	watch.timer = time.AfterFunc(watch.wait, func() {
		watch.expired.Store(true)
		cancel()
	})
	defer watch.timer.Stop()
	err = Play(ctx, v.sess, v.publisher, watch, v.cfg)
	started = watch.started.Load()
	if err == nil && watch.expired.Load() && !started {
		err = trtc.Errorf(trtc.CodeParamCheckFailed, "%s published nothing within %s", v.publisher, watch.wait).
			WithHTTPStatus(http.StatusNotFound)
	}
	return started, err
}

// mediaWatch passes tags through and restarts the wait with each one.
type mediaWatch struct {
	w       TagWriter
	wait    time.Duration
	timer   *time.Timer
	started atomic.Bool
	expired atomic.Bool
}

func (m *mediaWatch) WriteTag(t flv.Tag) error {
	m.timer.Reset(m.wait)
	m.started.Store(true)
	return m.w.WriteTag(t)
}
