package websdk

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trtcd/trtcd/signaling"
)

// Connection timing.
const (
	// idleTimeout: a joined SDK sends a quality report every 2 s, but a
	// background tab may stretch that to several seconds; a minute of
	// silence (no frame, no pong) means the client is gone.
	idleTimeout  = 60 * time.Second
	pingInterval = 20 * time.Second
	writeTimeout = 10 * time.Second
	// publishersInterval: the full publisher list (23) is pushed this
	// often besides on every change. The SDK paces its heartbeat on it
	// when its timers are throttled, and a lost update heals itself.
	publishersInterval = 5 * time.Second
	// outQueue and eventQueue bound what a slow client can hold.
	outQueue   = 1024
	eventQueue = 1024
	mediaQueue = 64
)

// conn is one SDK signalling socket. Three goroutines: the read loop
// answers light commands at once; the media loop runs publish and subscribe
// (which wait for ICE gathering and for a publisher's tracks) one at a
// time, in order; the event loop turns room events into frames. The write
// loop owns the socket's writes.
type conn struct {
	h   *Handler
	ws  *websocket.Conn
	log *slog.Logger

	// From the URL: who this socket speaks for.
	app     uint32
	userID  string
	userSig string
	tinyID  uint64
	resume  bool // rc=1: the SDK reconnecting after a drop

	out    chan []byte
	events chan signaling.Event
	media  chan *Request
	done   chan struct{}
	once   sync.Once

	mu         sync.Mutex // guards the fields below
	member     *signaling.Member
	grant      *signaling.Grant
	sessions   signaling.MediaSessions // the member's publish and subscriptions
	roomClosed bool
}

func newConn(h *Handler, ws *websocket.Conn, r *http.Request) *conn {
	q := r.URL.Query()
	app, _ := strconv.ParseUint(q.Get("sdkAppId"), 10, 32)
	c := &conn{h: h, ws: ws, app: uint32(app), userID: q.Get("userId"), userSig: q.Get("userSig"),
		resume: q.Get("rc") == "1",
		out:    make(chan []byte, outQueue), events: make(chan signaling.Event, eventQueue),
		media: make(chan *Request, mediaQueue), done: make(chan struct{})}
	c.tinyID = TinyID(c.userID)
	c.log = h.log().With("app", c.app, "user", c.userID) // never the userSig
	return c
}

func (c *conn) run() {
	go c.writeLoop()
	go c.eventLoop()
	go c.mediaLoop()
	c.setup()
	c.readLoop()
}

// setup sends the channel-setup frame (19), which gives the SDK its tinyId.
// A socket that resumes a session after a drop is told the session is gone
// (514 with a non-zero code): trtcd keeps no session across sockets, and
// the SDK then joins again from scratch.
func (c *conn) setup() {
	host, _, _ := net.SplitHostPort(c.ws.RemoteAddr().String())
	c.send(Reply{Cmd: cmdChannelSetup, TinyID: c.tinyID, Data: map[string]any{
		"clientIp": host, "svrTime": c.h.now().UnixMilli(),
	}})
	if c.resume {
		c.send(Reply{Cmd: cmdChannelReconnect, Code: codeSessionGone, Message: "the session ended with the previous connection; join again"})
	}
}

// codeSessionGone makes the SDK rejoin instead of resuming.
const codeSessionGone = 1

func (c *conn) readLoop() {
	defer c.close()
	c.ws.SetReadLimit(MaxFrameBytes)
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(idleTimeout)) })
	for {
		c.ws.SetReadDeadline(time.Now().Add(idleTimeout))
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
				c.log.Debug("signalling socket ended", "err", err)
			}
			return
		}
		req, err := DecodeRequest(msg)
		if err != nil {
			c.log.Debug("frame refused", "err", err)
			continue
		}
		c.dispatch(req)
	}
}

// send queues a frame; a client too slow to take its frames is closed.
func (c *conn) send(r Reply) {
	if r.Data == nil {
		r.Data = empty
	}
	b, err := json.Marshal(r)
	if err != nil {
		c.log.Error("frame not encoded", "cmd", r.Cmd, "err", err)
		return
	}
	select {
	case c.out <- b:
	case <-c.done:
	default:
		go c.close()
	}
}

func (c *conn) writeLoop() {
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case b := <-c.out:
			c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			if b == nil { // closeAfterFlush's marker: what came before is written
				c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
				time.AfterFunc(time.Second, c.close)
				return
			}
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.close()
				return
			}
		case <-ping.C:
			c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := c.ws.WriteMessage(websocket.PingMessage, nil); err != nil {
				c.close()
				return
			}
		case <-c.done:
			return
		}
	}
}

// closeAfterFlush closes the socket once the frames queued so far are out.
// The close is a normal one (1000): the SDK then neither reconnects nor
// raises an error, which is right after it has been told why (9).
func (c *conn) closeAfterFlush() {
	select {
	case c.out <- nil:
	default:
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
