package ws

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/internal/wsconn"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// conn is one client. Its read loop handles requests one at a time; the
// write loop owns the socket's writes.
type conn struct {
	srv    *Server
	socket *websocket.Conn
	out    *wsconn.Writer
	done   chan struct{}
	once   sync.Once
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
	history classroom.HistoryPace // the read loop's alone
	loginBy time.Time             // closed if not logged in by then
	log     *slog.Logger

	mu               sync.Mutex // guards the fields below against Kick
	login            *loginState
	member           *trtc.Member
	minKbps, maxKbps int
	media            wayin.MediaSessions // the member's publish and subscriptions
	// left: the connection was a member and is no longer (its room
	// requests answer 14004, user already left).
	left bool
	// follower hears a room's events without membership (follow.go).
	follower *trtc.Follower
	// followedClass is the class a follower joined with joinClassroom's
	// follow (classrooms.go).
	followedClass *tlssig.Room
}

// dispatch handles one frame and queues its reply: every frame gets one.
func (c *conn) dispatch(msg []byte) {
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
		c.out.Raise(c.srv.limits.MaxQueuedBytes)
	}
	r := Reply{ID: req.ID, Type: "reply", Data: data}
	if e != nil {
		r.Code, r.Message, r.Data = e.Code, e.Message, nil
	}
	c.send(r)
}

func (c *conn) handle(req *Request) (any, *trtc.Error) {
	switch req.Type {
	case "join":
		return c.join(req)
	case "login":
		return c.signIn(req)
	case "follow":
		return c.follow(req)
	case "quit":
		return c.quit()
	}
	if data, e, ok := c.classroomRequest(req); ok {
		return data, e
	}
	c.mu.Lock()
	m, f, left := c.member, c.follower, c.left
	c.mu.Unlock()
	switch {
	case m != nil:
		return c.roomRequest(req, m)
	case f != nil:
		return c.followerRequest(req, f)
	case left:
		return nil, trtc.Errorf(trtc.CodeUserLeft, "%s after leaving the room: join again", req.Type)
	}
	return nil, trtc.Errorf(trtc.CodeParamCheckFailed, "%s before join", req.Type)
}

// Notify implements trtc.Peer.
func (c *conn) Notify(ev trtc.Event) {
	c.send(EventFrame{Type: "event", Event: ev.Name, Data: ev.Data})
}

// Kick implements trtc.Peer: a force-offline event (signed in elsewhere,
// or removed by the application server: TIC's onTICForceOffline, and the
// client does not reconnect) or a closed event (the others), then close.
func (c *conn) Kick(e *trtc.Error) {
	name := trtc.EventClosed
	if e.Code == trtc.CodeForceOffline || e.Code == trtc.CodeKicked {
		name = trtc.EventForceOffline
	}
	finish := c.detach() // from now on this connection speaks for nobody
	go finish("kicked")
	c.send(EventFrame{Type: "event", Event: name, Data: map[string]any{"code": e.Code, "message": e.Message}})
	c.closeAfterFlush()
}

func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		c.cancel()
		if c.socket != nil {
			c.socket.Close()
		}
		if c.release != nil {
			c.release()
		}
		c.leave("disconnect")
		c.unfollow()
		c.signOut()
	})
}
