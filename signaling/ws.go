package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/trtcd/trtcd/sfu"
)

// WSLimits bound what one WebSocket client can do.
type WSLimits struct {
	MaxMessageBytes   int64         // larger frames close the connection
	MessagesPerSecond float64       // sustained rate per connection
	MessageBurst      int           // short bursts above the rate
	JoinsPerSecondIP  float64       // new connections per second per IP
	JoinBurstIP       int           //
	IdleTimeout       time.Duration // no frame at all for this long closes
}

// DefaultWSLimits suit TRTC clients: an SDP is a few KiB, a heartbeat every
// few seconds, a handful of requests at join.
var DefaultWSLimits = WSLimits{
	MaxMessageBytes: 64 << 10, MessagesPerSecond: 20, MessageBurst: 40,
	JoinsPerSecondIP: 20, JoinBurstIP: 50, IdleTimeout: 60 * time.Second,
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
	perIP    *ipLimiter
}

func (ws *WebSocket) now() time.Time {
	if ws.Now != nil {
		return ws.Now()
	}
	return time.Now()
}

// outQueue: events and replies waiting for a slow client; a client that lets
// this many pile up is closed rather than holding memory.
const outQueue = 1024

const (
	writeTimeout = 10 * time.Second
	closeLinger  = time.Second
)

func (ws *WebSocket) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws.once.Do(func() {
		ws.upgrader.CheckOrigin = func(*http.Request) bool { return true } // tokens, not cookies, authenticate
		ws.perIP = newIPLimiter(ws.Limits.JoinsPerSecondIP, ws.Limits.JoinBurstIP)
	})
	if !ws.perIP.allow(r) {
		writeHTTPError(w, http.StatusTooManyRequests, Errorf(CodeRateLimited, "too many connections from this address"))
		return
	}
	c, err := ws.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	c.SetReadLimit(ws.Limits.MaxMessageBytes)
	c.SetPongHandler(func(string) error { // a client answering pings is not idle
		return c.SetReadDeadline(time.Now().Add(ws.Limits.IdleTimeout))
	})
	conn := &wsConn{ws: ws, c: c, out: make(chan []byte, outQueue), done: make(chan struct{}),
		limiter: rate.NewLimiter(rate.Limit(ws.Limits.MessagesPerSecond), ws.Limits.MessageBurst),
		log:     ws.Logger}
	go conn.writeLoop()
	conn.readLoop()
}

// wsConn is one client. Its read loop handles requests one at a time; the
// write loop owns the socket's writes.
type wsConn struct {
	ws      *WebSocket
	c       *websocket.Conn
	out     chan []byte
	done    chan struct{}
	once    sync.Once
	limiter *rate.Limiter
	log     *slog.Logger

	mu               sync.Mutex // guards the fields below against Kick
	login            *loginState
	member           *Member
	minKbps, maxKbps int
	media            MediaSessions // the member's publish and subscriptions
}

func (c *wsConn) readLoop() {
	defer c.closeAfterFlush() // whatever was queued (a last error) still goes out
	for {
		c.c.SetReadDeadline(time.Now().Add(c.ws.Limits.IdleTimeout))
		_, msg, err := c.c.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.closeWith(Errorf(CodeRateLimited, "a message is larger than %d bytes", c.ws.Limits.MaxMessageBytes))
			}
			return
		}
		if !c.limiter.Allow() {
			c.closeWith(Errorf(CodeRateLimited, "more than %.0f messages per second", c.ws.Limits.MessagesPerSecond))
			return
		}
		req, e := decodeRequest(msg)
		if e != nil {
			id := int64(0)
			if req != nil {
				id = req.ID
			}
			c.send(Reply{ID: id, Type: "reply", Code: e.Code, Message: e.Message})
			continue
		}
		data, e := c.handle(req)
		r := Reply{ID: req.ID, Type: "reply", Data: data}
		if e != nil {
			r.Code, r.Message, r.Data = e.Code, e.Message, nil
		}
		c.send(r)
	}
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
	ctx, cancel := context.WithTimeout(context.Background(), negotiationTimeout)
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
	if e := c.ws.Rooms.Fetch(context.Background(), m.Room.Key, d.UserID); e != nil {
		return nil, e
	}
	ctx, cancel := context.WithTimeout(context.Background(), negotiationTimeout)
	defer cancel()
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

// send queues a frame; a client too slow to take its frames is closed.
func (c *wsConn) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	select {
	case c.out <- b:
	case <-c.done:
	default:
		go c.close()
	}
}

func (c *wsConn) writeLoop() {
	ping := time.NewTicker(c.ws.Limits.IdleTimeout / 3)
	defer ping.Stop()
	for {
		select {
		case b := <-c.out:
			c.c.SetWriteDeadline(time.Now().Add(writeTimeout))
			if b == nil { // closeAfterFlush's marker: everything before it is written
				c.c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, ""))
				// Half-close and linger: closing at once with unread input
				// makes the kernel send RST, and the client may lose the
				// frames that say why it was closed.
				if tcp, ok := c.c.UnderlyingConn().(*net.TCPConn); ok {
					tcp.CloseWrite()
				}
				time.AfterFunc(closeLinger, c.close)
				return
			}
			if err := c.c.WriteMessage(websocket.TextMessage, b); err != nil {
				c.close()
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

// closeWith tells the client why; the read loop then ends and closes.
func (c *wsConn) closeWith(e *Error) {
	c.send(Reply{Type: "reply", Code: e.Code, Message: e.Message})
}

// closeAfterFlush closes once the frames queued so far are written.
func (c *wsConn) closeAfterFlush() {
	select {
	case c.out <- nil:
	default: // the queue is full: this client is not reading anyway
		c.close()
	}
}

func (c *wsConn) close() {
	c.once.Do(func() {
		close(c.done)
		c.c.Close()
		c.leave("disconnect")
		c.signOut()
	})
}

func formatRoomID(id uint32) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatUint(uint64(id), 10)
}
