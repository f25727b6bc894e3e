package trtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/live"
	"github.com/trtcd/trtcd/rtmp"
	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc/tlssig"
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
	// FLVLimits bound HTTP-FLV players per client address (IPv6 per /64):
	// new plays per second and burst, and plays held at once [50/s, burst
	// 200, 500 players]. A zero field takes its default, a negative one
	// turns that limit off. Over them: HTTP 429, code 14009.
	FLVLimits limit.Config
	// PublisherWait ends an RTMP or HTTP-FLV play that gets no media for
	// this long [1m]: a player of a stream that is not there must not hold
	// its viewer slot forever.
	PublisherWait time.Duration
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

// Play implements rtmp.Handler. A player that gets no media for
// PublisherWait is told NetStream.Play.StreamNotFound (code 82) if nothing
// ever came, or NetStream.Play.Stop if the publisher left; TRTC's players
// then retry.
func (l *Live) Play(ctx context.Context, c *rtmp.ConnInfo, app, name string, q url.Values, w rtmp.TagWriter) error {
	v, e := l.admitPlayer(name, q)
	if e != nil {
		return refuse("NetStream.Play.Failed", e)
	}
	defer v.close()
	_, err := l.play(ctx, v, w)
	var absent *Error
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
	cfg       live.PlayConfig
	release   func() // gives the viewer slot back
}

func (v *viewer) close() {
	v.sess.Close()
	v.release()
}

// admitPlayer authenticates a viewer of a stream, takes a viewer slot (per
// room and per user) and joins the stream's room as a viewer session.
func (l *Live) admitPlayer(name string, q url.Values) (*viewer, *Error) {
	id, e := parseStreamID(name, q)
	if e != nil {
		return nil, e
	}
	userID := query(q, "userid")
	if userID == "" {
		return nil, Errorf(CodeMissingUserID, "add ?userid=VIEWER&usersig=SIG to play")
	}
	g, key, e := admit(l.Apps, l.Rooms, l.SFU, Credentials{SDKAppID: id.app, UserID: userID,
		UserSig: query(q, "usersig"), PrivateMapKey: query(q, "privatemapkey"), Room: id.room}, l.now())
	if e != nil {
		return nil, e
	}
	v := &viewer{room: key, publisher: id.userID,
		cfg: live.PlayConfig{Logger: l.logger(), NoAudio: !g.Privilege.CanRecvAudio(), NoVideo: !g.Privilege.CanRecvVideo()}}
	if v.cfg.NoAudio && v.cfg.NoVideo {
		return nil, MediaError(sfu.ErrRecvVideoDenied)
	}
	if e := l.Rooms.Fetch(context.Background(), key, id.userID); e != nil {
		return nil, e
	}
	if v.release, e = l.Rooms.ReserveViewer(key, id.app, userID); e != nil {
		return nil, e
	}
	var err error
	if v.sess, err = l.SFU.Join(key, userID); err != nil {
		v.release()
		return nil, Errorf(CodeParamCheckFailed, "%v", err)
	}
	return v, nil
}

// DefaultPublisherWait is how long a player waits for media from its
// publisher (Live.PublisherWait). A minute covers a pusher that starts
// after its players or reconnects after a network change; TRTC's players
// retry after the play ends, so a longer wait only holds a viewer slot
// for a stream that is not there.
const DefaultPublisherWait = time.Minute

// play sends the publisher's media to w until the player leaves, w fails,
// or no media came for PublisherWait. That last ends with an *Error (82,
// HTTP 404) when nothing ever came, and quietly when the publisher left.
// started says whether any tag went out.
func (l *Live) play(ctx context.Context, v *viewer, w live.TagWriter) (started bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watch := &mediaWatch{w: w, wait: orDefault(l.PublisherWait, DefaultPublisherWait)}
	watch.timer = time.AfterFunc(watch.wait, func() {
		watch.expired.Store(true)
		cancel()
	})
	defer watch.timer.Stop()
	err = live.Play(ctx, v.sess, v.publisher, watch, v.cfg)
	started = watch.started.Load()
	if err == nil && watch.expired.Load() && !started {
		err = &Error{Code: CodeParamCheckFailed, status: http.StatusNotFound,
			Message: fmt.Sprintf("%s published nothing within %s", v.publisher, watch.wait)}
	}
	return started, err
}

// mediaWatch passes tags through and restarts the wait with each one.
type mediaWatch struct {
	w       live.TagWriter
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

// flvWriteTimeout: a player that cannot take a tag for this long is gone
// (or too slow to watch live) and is dropped.
const flvWriteTimeout = 10 * time.Second

// Register adds the HTTP-FLV route: GET /live/{streamId}.flv.
func (l *Live) Register(mux *http.ServeMux) {
	players := limit.NewGate(l.FLVLimits.Or(DefaultAddressLimits))
	mux.HandleFunc("GET /live/{file}", connectionLimited(players, l.serveFLV))
}

// serveFLV plays a stream over HTTP. The response starts with the first
// tag, so that a stream that never comes gets a status and a code (404, 82)
// rather than an empty 200.
func (l *Live) serveFLV(rw http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			panics.Report(panics.FLV, v, l.logger())
			panic(http.ErrAbortHandler) // the player sees its response cut off, not an empty 200
		}
	}()
	name, ok := strings.CutSuffix(r.PathValue("file"), ".flv")
	if !ok {
		WriteError(rw, &Error{Code: CodeParamCheckFailed, Message: "HTTP-FLV URLs end in .flv", status: http.StatusNotFound})
		return
	}
	v, e := l.admitPlayer(name, r.URL.Query())
	if e != nil {
		WriteError(rw, e)
		return
	}
	defer v.close()
	rc := http.NewResponseController(rw)
	w := &httpFLV{rc: rc, w: rw, audio: !v.cfg.NoAudio, video: !v.cfg.NoVideo}
	started, err := l.play(r.Context(), v, w)
	var absent *Error
	if !started && errors.As(err, &absent) {
		rc.SetWriteDeadline(time.Now().Add(flvWriteTimeout))
		WriteError(rw, absent)
		return
	}
	if err != nil {
		l.logger().Debug("http-flv player left", "room", v.room, "err", err)
	}
}

// httpFLV writes an FLV stream to an HTTP response, each tag flushed at
// once (players want it live) under its own write deadline (the server's
// WriteTimeout would end every stream after 30 s). The FLV header goes out
// with the first tag.
type httpFLV struct {
	rc           *http.ResponseController
	w            http.ResponseWriter
	audio, video bool
	started      bool
	buf          []byte
}

func (h *httpFLV) start() error {
	h.started = true
	h.w.Header().Set("Content-Type", "video/x-flv")
	h.w.Header().Set("Cache-Control", "no-store")
	h.w.Header().Set("Access-Control-Allow-Origin", "*")
	return flv.WriteHeader(h.w, h.audio, h.video)
}

func (h *httpFLV) WriteTag(t flv.Tag) error {
	var err error
	if h.buf, err = flv.AppendTag(h.buf[:0], t); err != nil {
		return err
	}
	h.rc.SetWriteDeadline(time.Now().Add(flvWriteTimeout))
	if !h.started {
		if err := h.start(); err != nil {
			return err
		}
	}
	if _, err := h.w.Write(h.buf); err != nil {
		return err
	}
	return h.rc.Flush()
}
