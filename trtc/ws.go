package trtc

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/sfu"
)

// WSLimits bound what one WebSocket client can do. A zero field takes its
// default, in brackets; a negative JoinsPerSecondIP or ConnectionsPerIP
// turns that limit off.
type WSLimits struct {
	MaxMessageBytes   int64   // larger frames close the connection [64 KiB]
	MessagesPerSecond float64 // sustained rate per connection [20]
	MessageBurst      int     // short bursts above the rate [40]
	// JoinsPerSecondIP and JoinBurstIP ration new connections per address
	// (IPv6 per /64) [50/s, burst 200: a school behind one NAT address
	// joins 200 within 2 s]; ConnectionsPerIP caps those it holds at once
	// [500]. Over them: HTTP 429, code 14009.
	JoinsPerSecondIP float64
	JoinBurstIP      int
	ConnectionsPerIP int
	IdleTimeout      time.Duration // no frame at all for this long closes [60s]
	// LoginTimeout closes a socket that has not logged in (login or join)
	// this long after it opened, with code 14005 [10s]: an unauthenticated
	// socket costs memory and goroutines and must not stay.
	LoginTimeout time.Duration
	// MaxQueuedBytes bounds the frames waiting for a client that reads
	// slowly [4 MiB; 64 KiB at most before login]; past it the client gets
	// code 14009 and is closed.
	MaxQueuedBytes int
}

// DefaultWSLimits suit TRTC clients: an SDP is a few KiB, a heartbeat every
// few seconds, a handful of requests at join.
var DefaultWSLimits = WSLimits{
	MaxMessageBytes: 64 << 10, MessagesPerSecond: 20, MessageBurst: 40,
	JoinsPerSecondIP: DefaultAddressLimits.PerSecond, JoinBurstIP: DefaultAddressLimits.Burst,
	ConnectionsPerIP: DefaultAddressLimits.Connections,
	IdleTimeout:      60 * time.Second, LoginTimeout: 10 * time.Second, MaxQueuedBytes: 4 << 20,
}

// withDefaults fills the fields left zero.
func (l WSLimits) withDefaults() WSLimits {
	d := DefaultWSLimits
	l.MaxMessageBytes = orDefault(l.MaxMessageBytes, d.MaxMessageBytes)
	l.MessagesPerSecond = orDefault(l.MessagesPerSecond, d.MessagesPerSecond)
	l.MessageBurst = orDefault(l.MessageBurst, d.MessageBurst)
	perAddress := l.perAddress().Or(d.perAddress())
	l.JoinsPerSecondIP, l.JoinBurstIP, l.ConnectionsPerIP = perAddress.PerSecond, perAddress.Burst, perAddress.Connections
	l.IdleTimeout = orDefault(l.IdleTimeout, d.IdleTimeout)
	l.LoginTimeout = orDefault(l.LoginTimeout, d.LoginTimeout)
	l.MaxQueuedBytes = orDefault(l.MaxQueuedBytes, d.MaxQueuedBytes)
	return l
}

func (l WSLimits) perAddress() limit.Config {
	return limit.Config{PerSecond: l.JoinsPerSecondIP, Burst: l.JoinBurstIP, Connections: l.ConnectionsPerIP}
}

// WebSocket serves the trtcd signalling protocol at /ws (docs/protocol.md).
type WebSocket struct {
	Apps    *Apps
	Rooms   *Registry
	SFU     *sfu.SFU
	Bitrate BitrateLimits
	Limits  WSLimits
	// Recorder records publishers that joined with a recordId (nil: none).
	Recorder Recorder
	// Classrooms serves TIC's classrooms and messages (nil: refused).
	Classrooms *Classrooms
	Logger     *slog.Logger
	Now        func() time.Time

	once     sync.Once
	upgrader websocket.Upgrader
	limits   WSLimits // Limits with the defaults filled in
	perIP    *limit.Gate
	// negotiation bounds a publish or subscribe (negotiationTimeout when
	// zero; the fuzzer shortens it).
	negotiation time.Duration
}

func (ws *WebSocket) now() time.Time {
	if ws.Now != nil {
		return ws.Now()
	}
	return time.Now()
}

func (ws *WebSocket) logger() *slog.Logger {
	if ws.Logger == nil {
		return slog.Default()
	}
	return ws.Logger
}

const (
	writeTimeout = 10 * time.Second
	closeLinger  = time.Second
)

func (ws *WebSocket) init() {
	ws.once.Do(func() {
		ws.upgrader.CheckOrigin = func(*http.Request) bool { return true } // tokens, not cookies, authenticate
		ws.limits = ws.Limits.withDefaults()
		pa := ws.limits.perAddress()
		pa.Name = "ws" // refusals count in trtcd_refused_total{listener="ws"}
		ws.perIP = limit.NewGate(pa)
	})
}

func (ws *WebSocket) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws.init()
	leave, err := ws.perIP.Enter(r.RemoteAddr)
	if err != nil {
		refuseAddress(w, err)
		return
	}
	c, err := ws.upgrader.Upgrade(w, r, nil)
	if err != nil {
		leave()
		return // the upgrader answered
	}
	conn := ws.newConn(c)
	conn.release = leave
	c.SetReadLimit(ws.limits.MaxMessageBytes)
	c.SetPongHandler(func(string) error { // a client answering pings is not idle
		return c.SetReadDeadline(conn.readDeadline())
	})
	go conn.writeLoop()
	conn.readLoop()
}

// newConn makes a client's state; socket is nil for a connection driven
// in-process (the fuzzer's), which then has no write loop.
func (ws *WebSocket) newConn(socket *websocket.Conn) *wsConn {
	ws.init()
	ctx, cancel := context.WithCancel(context.Background())
	return &wsConn{ws: ws, c: socket, done: make(chan struct{}), ctx: ctx, cancel: cancel,
		queue:   newSendQueue(min(ws.limits.MaxQueuedBytes, preLoginQueueBytes)),
		limiter: rate.NewLimiter(rate.Limit(ws.limits.MessagesPerSecond), ws.limits.MessageBurst),
		loginBy: time.Now().Add(ws.limits.LoginTimeout),
		log:     ws.logger()}
}

// preLoginQueueBytes bounds the send queue of a socket that has not
// logged in: it gets only a few short replies, and one that sends without
// reading must not hold more (500 sockets from one address: 32 MiB).
const preLoginQueueBytes = 64 << 10

// wsConn is one client. Its read loop handles requests one at a time; the
// write loop owns the socket's writes.
type wsConn struct {
	ws    *WebSocket
	c     *websocket.Conn
	queue *sendQueue
	done  chan struct{}
	once  sync.Once
	// release gives the address's place back (nil: not counted). close
	// calls it once the socket is closed, not when reading ends: the
	// socket and its queued frames live on until the write loop is done,
	// up to a write timeout per frame for a client that does not read.
	release func()
	// ctx ends with the connection: a negotiation for a client that left
	// stops.
	ctx     context.Context
	cancel  context.CancelFunc
	limiter *rate.Limiter
	loginBy time.Time // closed if not logged in by then
	log     *slog.Logger

	mu               sync.Mutex // guards the fields below against Kick
	login            *loginState
	member           *Member
	minKbps, maxKbps int
	media            MediaSessions // the member's publish and subscriptions
}

func (c *wsConn) readLoop() {
	defer c.closeAfterFlush() // whatever was queued (a last error) still goes out
	defer panics.Recover(panics.WS, c.log)
	for {
		c.c.SetReadDeadline(c.readDeadline())
		_, msg, err := c.c.ReadMessage()
		switch {
		case err != nil && errors.Is(err, websocket.ErrReadLimit):
			c.closeWith(Errorf(CodeRateLimited, "a message is larger than %d bytes", c.ws.limits.MaxMessageBytes))
		case err != nil && !c.loggedIn() && !time.Now().Before(c.loginBy):
			c.closeWith(Errorf(CodeHeartbeatTimeout, "no login or join within %s of connecting", c.ws.limits.LoginTimeout))
		}
		if err != nil || c.queue.ended() {
			return
		}
		if !c.limiter.Allow() {
			c.closeWith(Errorf(CodeRateLimited, "more than %.0f messages per second", c.ws.limits.MessagesPerSecond))
			return
		}
		c.dispatch(msg)
	}
}

// readDeadline: the idle timeout, and before login the login deadline.
func (c *wsConn) readDeadline() time.Time {
	d := time.Now().Add(c.ws.limits.IdleTimeout)
	if !c.loggedIn() && c.loginBy.Before(d) {
		return c.loginBy
	}
	return d
}

func (c *wsConn) loggedIn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.login != nil
}

// dispatch handles one frame and queues its reply: every frame gets one.
func (c *wsConn) dispatch(msg []byte) {
	req, e := decodeRequest(msg)
	if e != nil {
		id := int64(0)
		if req != nil {
			id = req.ID
		}
		c.send(Reply{ID: id, Type: "reply", Code: e.Code, Message: e.Message})
		return
	}
	data, e := c.handle(req)
	if c.loggedIn() { // the full bound from now on: a join's reply lists the room
		c.queue.raise(c.ws.limits.MaxQueuedBytes)
	}
	r := Reply{ID: req.ID, Type: "reply", Data: data}
	if e != nil {
		r.Code, r.Message, r.Data = e.Code, e.Message, nil
	}
	c.send(r)
}

func (c *wsConn) handle(req *Request) (any, *Error) {
	switch req.Type {
	case "join":
		return c.join(req)
	case "login":
		return c.signIn(req)
	}
	if data, e, ok := c.classroomRequest(req); ok {
		return data, e
	}
	c.mu.Lock()
	m := c.member
	c.mu.Unlock()
	if m == nil {
		return nil, Errorf(CodeParamCheckFailed, "%s before join", req.Type)
	}
	c.ws.Rooms.Heartbeat(m) // any request shows the client is alive
	switch req.Type {
	case "heartbeat", "candidate": // answers carry every candidate (ICE-lite), trickled ones are not needed
		return nil, nil
	case "publish":
		return c.publish(req, m)
	case "unpublish":
		c.media.SwapPublish(nil)
		return nil, nil
	case "subscribe":
		return c.subscribe(req, m)
	case "unsubscribe":
		var u UserData
		if e := decodeData(req, &u); e != nil {
			return nil, e
		}
		c.media.SwapSubscription(u.UserID, nil)
		return nil, nil
	case "mute":
		var d MuteData
		if e := decodeData(req, &d); e != nil {
			return nil, e
		}
		info := c.ws.Rooms.memberInfo(m)
		if d.Audio != nil {
			info.AudioMuted = *d.Audio
		}
		if d.Video != nil {
			info.VideoMuted = *d.Video
		}
		c.ws.Rooms.Mute(m, info.AudioMuted, info.VideoMuted)
		return nil, nil
	case "members":
		return c.ws.Rooms.Members(m), nil
	case "leave":
		c.leave("leave")
		return nil, nil
	}
	return nil, Errorf(CodeParamCheckFailed, "unknown request type %q", req.Type)
}

func (c *wsConn) join(req *Request) (any, *Error) {
	c.mu.Lock()
	joined := c.member != nil
	c.mu.Unlock()
	if joined {
		return nil, Errorf(CodeParamCheckFailed, "already in a room; leave first")
	}
	var d JoinData
	if e := decodeData(req, &d); e != nil {
		return nil, e
	}
	return c.enter(d)
}

// enter authenticates and enters a room (join, joinClassroom); the
// connection is then signed in as the member too.
func (c *wsConn) enter(d JoinData) (JoinResult, *Error) {
	room, e := parseRoom(formatRoomID(d.RoomID), d.StrRoomID)
	if e != nil {
		return JoinResult{}, e
	}
	if d.PureAudioPushMod < 0 || d.PureAudioPushMod > 2 {
		return JoinResult{}, Errorf(CodeParamCheckFailed, "pureAudioPushMod %d: want 0, 1 or 2", d.PureAudioPushMod)
	}
	if err := checkRecordID(string(d.RecordID)); err != nil {
		return JoinResult{}, Errorf(CodeParamCheckFailed, "%v", err)
	}
	minKbps, maxKbps, err := c.ws.Bitrate.clamp(d.MinBitrate, d.MaxBitrate)
	if err != nil {
		return JoinResult{}, Errorf(CodeParamCheckFailed, "%v", err)
	}
	g, e := c.ws.Apps.Authenticate(Credentials{SDKAppID: d.SDKAppID, UserID: d.UserID, UserSig: d.UserSig,
		PrivateMapKey: d.PrivateMapKey, Room: room}, c.ws.now())
	if e != nil {
		return JoinResult{}, e
	}
	m, others, e := c.ws.Rooms.Enter(EnterRequest{App: d.SDKAppID, UserID: d.UserID, Room: room, Grant: g,
		Template: d.Template, Record: RecordParams{RecordID: string(d.RecordID), PureAudio: d.PureAudioPushMod}, Peer: c, Heartbeats: true})
	if e != nil {
		return JoinResult{}, e
	}
	c.mu.Lock()
	c.member, c.minKbps, c.maxKbps = m, minKbps, maxKbps
	c.media.Open()
	c.mu.Unlock()
	c.signInAs(d.SDKAppID, d.UserID, d.UserSig)
	return JoinResult{RoomUUID: m.Room.UUID, Template: m.Room.Template, Capacity: m.Room.Capacity, Members: others,
		MinBitrate: minKbps, MaxBitrate: maxKbps}, nil
}

func (c *wsConn) publish(req *Request, m *Member) (any, *Error) {
	var d SDPData
	if e := decodeData(req, &d); e != nil {
		return nil, e
	}
	ctx, cancel := c.negotiating()
	defer cancel()
	sess, answer, err := c.ws.SFU.Publish(ctx, sfu.PublishRequest{Room: m.Room.Key, UserID: m.UserID, Offer: d.SDP,
		MinBitrate: c.minKbps, MaxBitrate: c.maxKbps,
		AllowAudio: m.Grant.Privilege.CanSendAudio(), AllowVideo: m.Grant.Privilege.CanSendVideo()})
	if err != nil {
		return nil, MediaError(err)
	}
	if !c.media.SwapPublish(sess) {
		sess.Close()
		return nil, Errorf(CodeParamCheckFailed, "left the room during the publish")
	}
	startRecording(c.ws.Recorder, c.ws.Rooms, m, c.ws.Logger)
	return SDPData{SDP: answer}, nil
}

func (c *wsConn) subscribe(req *Request, m *Member) (any, *Error) {
	var d SDPData
	if e := decodeData(req, &d); e != nil {
		return nil, e
	}
	ctx, cancel := c.negotiating()
	defer cancel()
	if e := c.ws.Rooms.Fetch(ctx, m.Room.Key, d.UserID); e != nil {
		return nil, e
	}
	sess, answer, err := c.ws.SFU.Subscribe(ctx, sfu.SubscribeRequest{Room: m.Room.Key, UserID: m.UserID, Publisher: d.UserID,
		Offer: d.SDP, AllowAudio: m.Grant.Privilege.CanRecvAudio(), AllowVideo: m.Grant.Privilege.CanRecvVideo()})
	if err != nil {
		return nil, MediaError(err)
	}
	if !c.media.SwapSubscription(d.UserID, sess) {
		sess.Close()
		return nil, Errorf(CodeParamCheckFailed, "left the room during the subscribe")
	}
	return SDPData{SDP: answer, UserID: d.UserID}, nil
}

// negotiating is the context of one offer/answer.
func (c *wsConn) negotiating() (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.ctx, cmp.Or(c.ws.negotiation, negotiationTimeout))
}

// leave ends the membership and every media session; the socket stays.
func (c *wsConn) leave(reason string) { c.detach()(reason) }

// detach forgets the membership at once, so no later request acts for it,
// and returns the slow part: closing the media sessions and leaving.
func (c *wsConn) detach() func(reason string) {
	c.mu.Lock()
	m := c.member
	c.member = nil
	closeMedia := c.media.Take()
	c.mu.Unlock()
	return func(reason string) {
		closeMedia()
		if m != nil {
			c.ws.Rooms.Leave(m, reason)
		}
	}
}

// Notify implements Peer.
func (c *wsConn) Notify(ev Event) { c.send(EventFrame{Type: "event", Event: ev.Name, Data: ev.Data}) }

// Kick implements Peer: a force-offline (or closed) event, then close.
func (c *wsConn) Kick(e *Error) {
	name := EventForceOffline
	if e.Code != CodeForceOffline {
		name = EventClosed
	}
	finish := c.detach() // from now on this connection speaks for nobody
	go finish("kicked")
	c.send(EventFrame{Type: "event", Event: name, Data: map[string]any{"code": e.Code, "message": e.Message}})
	c.closeAfterFlush()
}

// send queues a frame. A client that lets MaxQueuedBytes pile up is told
// 14009 and closed: it is not reading, and must not hold the memory.
func (c *wsConn) send(v any) {
	b, err := encodeFrame(v)
	if err != nil || c.queue.push(b) {
		return
	}
	c.log.Debug("ws: closing a client that does not read", "queued_bytes_max", c.ws.limits.MaxQueuedBytes)
	reason, _ := encodeFrame(Reply{Type: "reply", Code: CodeRateLimited,
		Message: fmt.Sprintf("the client reads too slowly: more than %d bytes wait for it", c.ws.limits.MaxQueuedBytes)})
	c.queue.finish(reason, true)
}

// encodeFrame is v's JSON without HTML escaping: frames go to programs,
// not into pages, and escaping makes a message of '<' six times its size.
func encodeFrame(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func (c *wsConn) writeLoop() {
	defer func() {
		if v := recover(); v != nil {
			panics.Report(panics.WS, v, c.log)
			c.close()
		}
	}()
	ping := time.NewTicker(c.ws.limits.IdleTimeout / 3)
	defer ping.Stop()
	for {
		select {
		case <-c.queue.ready:
			if !c.writeQueued() {
				return
			}
		case <-ping.C:
			c.c.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := c.c.WriteMessage(websocket.PingMessage, nil); err != nil {
				c.close()
				return
			}
		case <-c.done:
			return
		}
	}
}

// writeQueued writes the frames queued so far; false when the connection
// is done (the end marker was written, or a write failed).
func (c *wsConn) writeQueued() bool {
	for _, b := range c.queue.take() {
		c.c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if b == nil { // the end marker: everything before it is written
			c.c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, ""))
			// Half-close and linger: closing at once with unread input
			// makes the kernel send RST, and the client may lose the
			// frames that say why it was closed.
			if tcp, ok := c.c.UnderlyingConn().(interface{ CloseWrite() error }); ok { // TCP, gated or not
				tcp.CloseWrite()
			}
			time.AfterFunc(closeLinger, c.close)
			return false
		}
		err := c.c.WriteMessage(websocket.TextMessage, b)
		c.queue.sent(b)
		if err != nil {
			c.close()
			return false
		}
	}
	return true
}

// closeWith tells the client why and closes once that is written.
func (c *wsConn) closeWith(e *Error) {
	b, _ := encodeFrame(Reply{Type: "reply", Code: e.Code, Message: e.Message})
	c.queue.finish(b, false)
}

// closeAfterFlush closes once the frames queued so far are written.
func (c *wsConn) closeAfterFlush() { c.queue.finish(nil, false) }

func (c *wsConn) close() {
	c.once.Do(func() {
		close(c.done)
		c.cancel()
		if c.c != nil {
			c.c.Close()
		}
		if c.release != nil {
			c.release()
		}
		c.leave("disconnect")
		c.signOut()
	})
}

// sendQueue holds the frames waiting for a client, bounded in bytes. It
// grows as it fills, so an idle socket costs nothing up front, and a client
// that does not read cannot make it hold more than its bound.
type sendQueue struct {
	mu     sync.Mutex
	frames [][]byte // nil is the end marker
	bytes  int      // queued or being written
	max    int
	closed bool          // the end is queued; later frames are dropped
	ready  chan struct{} // signalled when frames are queued
}

// frameOverhead is counted with every frame, so that a flood of tiny
// frames is bounded too.
const frameOverhead = 64

func newSendQueue(maxBytes int) *sendQueue {
	return &sendQueue{max: maxBytes, ready: make(chan struct{}, 1)}
}

// push queues b; false when it would pass the bound (nothing is queued
// then). After the end, frames are dropped (and push says true: the
// connection is closing anyway).
func (q *sendQueue) push(b []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return true
	}
	if q.bytes+len(b)+frameOverhead > q.max {
		return false
	}
	q.append(b)
	return true
}

// raise lifts the bound (a client that logged in); it never lowers it.
func (q *sendQueue) raise(bound int) {
	q.mu.Lock()
	q.max = max(q.max, bound)
	q.mu.Unlock()
}

// finish queues a last frame (nil: none) and the end marker, once; drop
// first discards the frames not yet taken, for a client too slow for them.
func (q *sendQueue) finish(last []byte, drop bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed = true
	if drop {
		for _, b := range q.frames {
			q.bytes -= len(b) + frameOverhead
		}
		q.frames = nil
	}
	if last != nil {
		q.append(last)
	}
	q.append(nil)
}

func (q *sendQueue) append(b []byte) {
	q.frames = append(q.frames, b)
	q.bytes += len(b) + frameOverhead
	select {
	case q.ready <- struct{}{}:
	default: // already signalled
	}
}

// take hands over the frames queued so far; they stay counted until sent.
func (q *sendQueue) take() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	f := q.frames
	q.frames = nil
	return f
}

// sent uncounts a written frame.
func (q *sendQueue) sent(b []byte) {
	q.mu.Lock()
	q.bytes -= len(b) + frameOverhead
	q.mu.Unlock()
}

// ended: the end is queued, so the connection takes no more requests.
func (q *sendQueue) ended() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

func formatRoomID(id uint32) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatUint(uint64(id), 10)
}
