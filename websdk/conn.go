package websdk

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/internal/wsconn"
	"github.com/trtcd/trtcd/trtc"
)

// Connection timing.
const (
	// idleTimeout: a joined SDK sends a quality report every 2 s, but a
	// background tab may stretch that to several seconds; a minute of
	// silence (no frame, no pong) means the client is gone.
	idleTimeout  = 60 * time.Second
	pingInterval = 20 * time.Second
	// publishersInterval: the full publisher list (23) is pushed this
	// often besides on every change. The SDK paces its heartbeat on it
	// when its timers are throttled, and a lost update heals itself.
	publishersInterval = 5 * time.Second
	// outQueue and eventQueue bound what a slow client can hold, in frames
	// (Limits.MaxQueuedBytes bounds outQueue's bytes too).
	outQueue   = 1024
	eventQueue = 1024
	mediaQueue = 64
)

// socket is where a conn writes: the WebSocket (its reads belong to the
// read loop alone).
type socket interface {
	wsconn.Socket
	WriteControl(messageType int, data []byte, deadline time.Time) error
	Close() error
}

// conn is one SDK signalling socket. Until the SDK joins with a valid
// userSig it is only its read loop, which writes its few replies itself:
// a socket that never logs in costs one goroutine. Joined, it has three
// more: the media loop runs publish and subscribe (which wait for ICE
// gathering and for a publisher's tracks) one at a time, in order; the
// event loop turns room events into frames; the write loop owns the
// socket's writes.
type conn struct {
	h    *Handler
	ws   socket
	log  *slog.Logger
	addr string // the client's host:port
	// maxQueue is Limits.MaxQueuedBytes (0: no byte bound).
	maxQueue int

	// From the URL: who this socket speaks for.
	app     uint32
	userID  string
	userSig string
	appKey  string // the app's secret key, for TinyID only (empty for an app this server does not know)
	tinyID  uint64
	resume  bool // rc=1: the SDK reconnecting after a drop

	// Owned by the read loop (the goroutine that dispatches frames).
	frames   *rate.Limiter // the frame budget: a small one until login
	loginBy  time.Time     // zero once logged in, or with no deadline
	loggedIn bool
	media    chan *Request // nil until login

	done  chan struct{}
	once  sync.Once
	loops sync.WaitGroup // the goroutines of a logged-in socket (the fuzz target waits for them)

	wmu    sync.Mutex     // guards the fields below
	out    *wsconn.Writer // nil until login: the read loop writes itself
	ending bool           // before login: the close is written

	mu         sync.Mutex      // guards the fields below
	events     chan trtc.Event // nil until a join
	member     *trtc.Member
	grant      *trtc.Grant
	sessions   wayin.MediaSessions // the member's publish and subscriptions
	roomClosed bool
}

func newConn(h *Handler, ws socket, addr string, q url.Values) *conn {
	h.once.Do(h.init)
	app, _ := strconv.ParseUint(q.Get("sdkAppId"), 10, 32)
	lim := h.limits
	c := &conn{h: h, ws: ws, addr: addr, app: uint32(app), userID: q.Get("userId"), userSig: q.Get("userSig"),
		resume: q.Get("rc") == "1", done: make(chan struct{}), maxQueue: lim.MaxQueuedBytes,
		frames: rate.NewLimiter(rate.Limit(lim.LoginMessagesPerSecond), lim.LoginMessageBurst)}
	if lim.LoginTimeout > 0 {
		c.loginBy = time.Now().Add(lim.LoginTimeout)
	}
	if a, ok := h.Gate.Apps.Lookup(c.app); ok {
		c.appKey = a.Key
	}
	c.tinyID = TinyID(c.appKey, c.userID)
	c.log = h.log().With("app", c.app, "user", c.userID) // never the userSig
	return c
}

// setup sends the channel-setup frame (19), which gives the SDK its tinyId.
// A socket that resumes a session after a drop is told the session is gone
// (514 with a non-zero code): trtcd keeps no session across sockets, and
// the SDK then joins again from scratch.
func (c *conn) setup() {
	host, _, _ := net.SplitHostPort(c.addr)
	c.send(Reply{Cmd: cmdChannelSetup, TinyID: c.tinyID, Data: map[string]any{
		"clientIp": host, "svrTime": c.h.now().UnixMilli(),
	}})
	if c.resume {
		c.send(Reply{Cmd: cmdChannelReconnect, Code: codeSessionGone, Message: "the session ended with the previous connection; join again"})
	}
}

// codeSessionGone makes the SDK rejoin instead of resuming.
const codeSessionGone = 1

// serve runs the socket until it ends; leave gives its place back to the
// per-address gate.
func (c *conn) serve(ws *websocket.Conn, leave func()) {
	defer leave()
	defer c.close()
	defer c.recoverPanic()
	c.setup()
	c.readLoop(ws)
}

func (c *conn) readLoop(ws *websocket.Conn) {
	ws.SetReadLimit(MaxFrameBytes)
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(c.readDeadline()) })
	for {
		ws.SetReadDeadline(c.readDeadline())
		_, msg, err := ws.ReadMessage()
		if err != nil {
			c.readEnded(err)
			return
		}
		if !c.handleFrame(msg) {
			drain(ws)
			return
		}
	}
}

// readDeadline: a minute of silence, but never past the login deadline.
func (c *conn) readDeadline() time.Time {
	idle := time.Now().Add(idleTimeout)
	if c.loginBy.IsZero() || idle.Before(c.loginBy) {
		return idle
	}
	return c.loginBy
}

// readEnded tells a socket that reached its login deadline why it closes.
func (c *conn) readEnded(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !c.loginBy.IsZero() && !time.Now().Before(c.loginBy) {
		c.log.Debug("signalling socket closed at the login deadline")
		e := trtc.Errorf(trtc.CodeRateLimited, "no join with a valid userSig within %s of connecting", c.h.limits.LoginTimeout)
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, closeReason(e)),
			time.Now().Add(wsconn.WriteTimeout))
		return
	}
	if !errors.Is(err, net.ErrClosed) && !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
		c.log.Debug("signalling socket ended", "err", err)
	}
}

// handleFrame serves one frame from the client; false when the socket
// must close because the client is over its frame budget.
func (c *conn) handleFrame(msg []byte) bool {
	if !c.frames.Allow() {
		c.refuseFlood()
		return false
	}
	req, err := DecodeRequest(msg)
	if err != nil {
		c.log.Debug("frame refused", "err", err)
		return true
	}
	c.dispatch(req)
	return true
}

// refuseFlood tells the client it is over its frame budget (9 with code
// 14009, which the SDK raises as client-banned), then closes. The close is
// a normal one, so that the SDK does not reconnect to flood again.
func (c *conn) refuseFlood() {
	lim := c.h.limits
	rps, burst := lim.MessagesPerSecond, lim.MessageBurst
	if !c.loggedIn {
		rps, burst = lim.LoginMessagesPerSecond, lim.LoginMessageBurst
	}
	e := trtc.Errorf(trtc.CodeRateLimited, "more than %g frames per second (burst %d)", rps, burst)
	c.h.floodLog.log(c.log, slog.LevelWarn, "signalling socket closed: too many frames", "addr", c.addr, "logged_in", c.loggedIn)
	c.send(Reply{Cmd: cmdClientBanned, Code: int(e.Code), Message: e.Message, Data: map[string]string{"reason": "banned"}})
	c.closeAfterFlush(websocket.CloseNormalClosure, closeReason(e))
}

// drain reads (and drops) what the client still sends until it answers
// the close or the linger is over.
func drain(ws *websocket.Conn) {
	ws.SetReadDeadline(time.Now().Add(wsconn.Linger))
	for {
		if _, _, err := ws.NextReader(); err != nil {
			return
		}
	}
}

// openEvents gives the socket its event queue before it enters a room:
// the room's events may come at once. A logged-in socket has one.
func (c *conn) openEvents() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.events == nil {
		c.events = make(chan trtc.Event, eventQueue)
	}
}

// dropEvents frees the queue of a socket whose join was refused: no room
// sends it events, and it holds only what a socket before login holds.
func (c *conn) dropEvents() {
	if c.loggedIn {
		return
	}
	c.mu.Lock()
	c.events = nil
	c.mu.Unlock()
}

// logIn switches the socket to a member's budget, clears its login
// deadline and starts the loops a member needs; the read loop calls it
// once the member is in its room (after openEvents), not when the userSig
// verified: a join the room refuses leaves the socket as it was.
func (c *conn) logIn() {
	if c.loggedIn {
		return
	}
	c.loggedIn, c.loginBy = true, time.Time{}
	// A full budget: right after its join the SDK publishes and subscribes
	// to every publisher at once.
	c.frames = rate.NewLimiter(rate.Limit(c.h.limits.MessagesPerSecond), c.h.limits.MessageBurst)
	c.media = make(chan *Request, mediaQueue)
	c.mu.Lock()
	events := c.events
	c.mu.Unlock()
	out := wsconn.New(c.ws, wsconn.Config{MaxBytes: c.maxQueue, MaxFrames: outQueue, Ping: pingInterval, Close: c.closeSafely})
	c.wmu.Lock() // a reply being written by the read loop is out first
	c.out = out
	c.wmu.Unlock()
	c.spawn(func() { out.Run(c.done) })
	c.spawn(func() { c.eventLoop(events) })
	c.spawn(func() { c.mediaLoop(c.media) })
}

// spawn runs one of the connection's loops: a panic there ends this
// connection only.
func (c *conn) spawn(loop func()) {
	c.loops.Go(func() {
		defer c.recoverPanic()
		loop()
	})
}

// recoverPanic, deferred directly, stops a panic, counts and logs it, and
// closes the connection.
func (c *conn) recoverPanic() {
	if v := recover(); v != nil {
		panics.Report(panics.WebSDK, v, c.log)
		c.close()
	}
}

// send queues a frame (before login, the read loop writes it at once); a
// client too slow to take its frames is closed.
func (c *conn) send(r Reply) {
	if r.Data == nil {
		r.Data = empty
	}
	b, err := json.Marshal(r)
	if err != nil {
		c.log.Error("frame not encoded", "cmd", r.Cmd, "err", err)
		return
	}
	c.wmu.Lock()
	out := c.out
	if out == nil {
		defer c.wmu.Unlock()
		c.write(websocket.TextMessage, b)
		return
	}
	c.wmu.Unlock()
	if !out.Push(b) {
		c.tooSlow()
	}
}

// tooSlow closes a client that lets its queue fill as a flooder is closed:
// 9 with code 14009, then a normal close. The frames waiting are dropped:
// the client is not reading them, and must not hold the memory.
func (c *conn) tooSlow() {
	e := trtc.Errorf(trtc.CodeRateLimited, "the client reads too slowly: more than %d bytes or %d frames wait for it",
		c.maxQueue, outQueue)
	c.h.floodLog.log(c.log, slog.LevelWarn, "signalling socket closed: the client does not read", "addr", c.addr)
	b, err := json.Marshal(Reply{Cmd: cmdClientBanned, Code: int(e.Code), Message: e.Message, Data: map[string]string{"reason": "banned"}})
	if err != nil {
		b = nil
	}
	c.finish(b, websocket.FormatCloseMessage(websocket.CloseNormalClosure, closeReason(e)), true)
}

// write writes one frame (before login); a socket that cannot take it
// is closed.
func (c *conn) write(kind int, b []byte) {
	if wsconn.Write(c.ws, kind, b) != nil {
		c.close()
	}
}

// closeAfterFlush closes the socket once the frames queued so far are out,
// with this close status and reason. A normal close (1000) after being
// told why (9) makes the SDK neither reconnect nor raise another error.
func (c *conn) closeAfterFlush(status int, reason string) {
	c.finish(nil, websocket.FormatCloseMessage(status, reason), false)
}

// finish queues a last frame (nil: none) and the close, once; drop first
// discards the frames still waiting. A queue too full for the close closes
// the socket at once.
func (c *conn) finish(last, closeMsg []byte, drop bool) {
	c.wmu.Lock()
	out := c.out
	if out == nil { // before login the read loop writes, then drains
		defer c.wmu.Unlock()
		if !c.ending {
			c.ending = true
			c.write(websocket.CloseMessage, closeMsg)
		}
		return
	}
	c.wmu.Unlock()
	if !out.Finish(last, closeMsg, drop) {
		c.close()
	}
}

// close ends the connection: the member leaves and its media closes.
func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		c.ws.Close()
		c.leave("disconnect")
	})
}

// closeSafely is close for a goroutine of its own (a timer's).
func (c *conn) closeSafely() {
	defer c.recoverPanic()
	c.close()
}
