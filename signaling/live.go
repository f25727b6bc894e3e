package signaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trtcd/trtcd/live"
	"github.com/trtcd/trtcd/rtmp"
	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/signaling/tlssig"
)

// Live admits live-pusher and live-player clients: RTMP publishers become
// room members whose streams join the fan-out, and RTMP or HTTP-FLV players
// watch any member's stream. Stream names follow TRTC:
//
//	rtmp://HOST/live/{sdkAppId}_{roomId}_{userId}_main?usersig=&privatemapkey=&recordid=&pureaudiomode=
//	rtmp://HOST/live/{streamId}?userid=VIEWER&usersig=SIG     (play)
//	http://HOST/live/{streamId}.flv?userid=VIEWER&usersig=SIG (play)
//
// ?strroomid=NAME makes the room a string room (the roomId part is then
// ignored), as for WHIP.
type Live struct {
	Apps   *Apps
	Rooms  *Registry
	SFU    *sfu.SFU
	Logger *slog.Logger
	Now    func() time.Time // for tests; time.Now when nil
	// OnBFrames counts pushes refused for B-frames (a metric).
	OnBFrames func()
	// Recorder records pushers that give a recordId (nil: none are).
	Recorder Recorder
}

// streamID is a parsed TRTC stream id.
type streamID struct {
	app    uint32
	room   tlssig.Room
	userID string
}

// parseStreamID reads "{sdkAppId}_{roomId}_{userId}_main"; user ids may
// contain underscores, so the user is everything between the room and the
// "_main" suffix.
func parseStreamID(name string, q url.Values) (streamID, *Error) {
	bad := func(why string) (streamID, *Error) {
		return streamID{}, Errorf(CodeParamCheckFailed, "stream name %q: %s (want {sdkAppId}_{roomId}_{userId}_main)", name, why)
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
	room, e := parseRoom(roomText, query(q, "strroomid"))
	if e != nil {
		return streamID{}, e
	}
	return streamID{app: uint32(app), room: room, userID: user}, nil
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

func (l *Live) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// refuse turns a TRTC error into the onStatus the client sees; the code
// leads the description so scripts can read it.
func refuse(status string, e *Error) error {
	return &rtmp.StatusError{Code: status, Description: fmt.Sprintf("%d %s", e.Code, e.Message)}
}

// Publish implements rtmp.Handler.
func (l *Live) Publish(_ context.Context, c *rtmp.ConnInfo, app, name string, q url.Values) (rtmp.Publisher, error) {
	id, e := parseStreamID(name, q)
	var rec RecordParams
	if e == nil {
		var err error
		if rec, err = parseRecordParams(recordIDParam(q), pureAudioParam(q)); err != nil {
			e = Errorf(CodeParamCheckFailed, "%v", err)
		}
	}
	if e != nil {
		return nil, refuse("NetStream.Publish.BadName", e)
	}
	audioOnly := rec.PureAudio != 0
	g, key, e := admit(l.Apps, l.Rooms, l.SFU, Credentials{SDKAppID: id.app, UserID: id.userID,
		UserSig: query(q, "usersig"), PrivateMapKey: query(q, "privatemapkey"), Room: id.room}, l.now())
	if e == nil {
		e = sendPrivilege(g, audioOnly)
	}
	if e != nil {
		return nil, refuse("NetStream.Publish.Unauthorized", e)
	}
	peer := &sessionPeer{}
	m, _, e := l.Rooms.Enter(EnterRequest{App: id.app, UserID: id.userID, Room: id.room, Grant: g, Record: rec, Peer: peer})
	if e != nil {
		return nil, refuse("NetStream.Publish.Rejected", e)
	}
	kinds := []sfu.Kind{sfu.KindAudio, sfu.KindVideo}
	if audioOnly {
		kinds = kinds[:1]
	}
	sess, err := l.SFU.Join(key, id.userID, kinds...)
	if err != nil {
		l.Rooms.Leave(m, "leave")
		return nil, refuse("NetStream.Publish.Rejected", Errorf(CodeParamCheckFailed, "%v", err))
	}
	peer.set(sess)
	l.logger().Info("rtmp publish", "room", key, "user", id.userID, "remote", c.RemoteAddr, "audio_only", audioOnly)
	in := live.NewIngest(sess, live.IngestConfig{ID: id.userID, AudioOnly: audioOnly, Logger: l.logger(), OnBFrames: l.OnBFrames})
	startRecording(l.Recorder, l.Rooms, m, l.logger())
	return &livePublisher{Ingest: in, sess: sess, leave: func() { l.Rooms.Leave(m, "leave") }}, nil
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

// sendPrivilege: a pusher sends video (unless audio-only) and audio.
func sendPrivilege(g *Grant, audioOnly bool) *Error {
	switch {
	case !audioOnly && !g.Privilege.CanSendVideo():
		return MediaError(sfu.ErrSendVideoDenied)
	case !g.Privilege.CanSendAudio():
		return MediaError(sfu.ErrSendAudioDenied)
	}
	return nil
}

func (l *Live) logger() *slog.Logger {
	if l.Logger == nil {
		return slog.Default()
	}
	return l.Logger
}

// livePublisher ends the member's session and membership with the push.
type livePublisher struct {
	*live.Ingest
	sess  *sfu.Session
	leave func()
}

// WriteTag stops the push once the member was kicked or replaced.
func (p *livePublisher) WriteTag(t flv.Tag) error {
	select {
	case <-p.sess.Done():
		return errors.New("the session ended (kicked, replaced by another login, or the room closed)")
	default:
	}
	return p.Ingest.WriteTag(t)
}

func (p *livePublisher) Close() {
	p.Ingest.Close()
	p.sess.Close()
	p.leave()
}

// Play implements rtmp.Handler.
func (l *Live) Play(ctx context.Context, c *rtmp.ConnInfo, app, name string, q url.Values, w rtmp.TagWriter) error {
	sess, room, cfg, e := l.admitPlayer(name, q)
	if e != nil {
		return refuse("NetStream.Play.Failed", e)
	}
	defer l.Rooms.ReleaseViewer(room)
	defer sess.Close()
	return live.Play(ctx, sess, cfg.publisher, w, cfg.PlayConfig)
}

type playerConfig struct {
	live.PlayConfig
	publisher string
}

// admitPlayer authenticates a viewer of a stream and joins it to the
// stream's room as a viewer session.
func (l *Live) admitPlayer(name string, q url.Values) (*sfu.Session, string, playerConfig, *Error) {
	id, e := parseStreamID(name, q)
	if e != nil {
		return nil, "", playerConfig{}, e
	}
	viewer := query(q, "userid")
	if viewer == "" {
		return nil, "", playerConfig{}, Errorf(CodeMissingUserID, "add ?userid=VIEWER&usersig=SIG to play")
	}
	g, key, e := admit(l.Apps, l.Rooms, l.SFU, Credentials{SDKAppID: id.app, UserID: viewer,
		UserSig: query(q, "usersig"), PrivateMapKey: query(q, "privatemapkey"), Room: id.room}, l.now())
	if e != nil {
		return nil, "", playerConfig{}, e
	}
	cfg := playerConfig{publisher: id.userID,
		PlayConfig: live.PlayConfig{Logger: l.logger(), NoAudio: !g.Privilege.CanRecvAudio(), NoVideo: !g.Privilege.CanRecvVideo()}}
	if cfg.NoAudio && cfg.NoVideo {
		return nil, "", playerConfig{}, MediaError(sfu.ErrRecvVideoDenied)
	}
	if e := l.Rooms.Fetch(context.Background(), key, id.userID); e != nil {
		return nil, "", playerConfig{}, e
	}
	if e := l.Rooms.ReserveViewer(key); e != nil {
		return nil, "", playerConfig{}, e
	}
	sess, err := l.SFU.Join(key, viewer)
	if err != nil {
		l.Rooms.ReleaseViewer(key)
		return nil, "", playerConfig{}, Errorf(CodeParamCheckFailed, "%v", err)
	}
	return sess, key, cfg, nil
}

// flvWriteTimeout: a player that cannot take a tag for this long is gone
// (or too slow to watch live) and is dropped.
const flvWriteTimeout = 10 * time.Second

// Register adds the HTTP-FLV route: GET /live/{streamId}.flv.
func (l *Live) Register(mux *http.ServeMux) {
	perIP := newIPLimiter(offersPerSecondIP, offerBurstIP)
	mux.HandleFunc("GET /live/{file}", perIP.limited(l.serveFLV))
}

func (l *Live) serveFLV(rw http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("file"), ".flv")
	if !ok {
		WriteError(rw, &Error{Code: CodeParamCheckFailed, Message: "HTTP-FLV URLs end in .flv", status: http.StatusNotFound})
		return
	}
	sess, room, cfg, e := l.admitPlayer(name, r.URL.Query())
	if e != nil {
		WriteError(rw, e)
		return
	}
	defer l.Rooms.ReleaseViewer(room)
	defer sess.Close()
	rw.Header().Set("Content-Type", "video/x-flv")
	rw.Header().Set("Cache-Control", "no-store")
	rw.Header().Set("Access-Control-Allow-Origin", "*")
	w := &httpFLV{rc: http.NewResponseController(rw), w: rw}
	if err := w.start(!cfg.NoAudio, !cfg.NoVideo); err != nil {
		return
	}
	if err := live.Play(r.Context(), sess, cfg.publisher, w, cfg.PlayConfig); err != nil {
		l.logger().Debug("http-flv player left", "room", room, "err", err)
	}
}

// httpFLV writes an FLV stream to an HTTP response, each tag flushed at
// once (players want it live) under its own write deadline (the server's
// WriteTimeout would end every stream after 30 s).
type httpFLV struct {
	rc  *http.ResponseController
	w   http.ResponseWriter
	buf []byte
}

func (h *httpFLV) start(audio, video bool) error {
	h.rc.SetWriteDeadline(time.Now().Add(flvWriteTimeout))
	if err := flv.WriteHeader(h.w, audio, video); err != nil {
		return err
	}
	return h.rc.Flush()
}

func (h *httpFLV) WriteTag(t flv.Tag) error {
	var err error
	if h.buf, err = flv.AppendTag(h.buf[:0], t); err != nil {
		return err
	}
	h.rc.SetWriteDeadline(time.Now().Add(flvWriteTimeout))
	if _, err := h.w.Write(h.buf); err != nil {
		return err
	}
	return h.rc.Flush()
}
