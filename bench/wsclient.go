package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsHeartbeat keeps a member in its room: trtcd removes one that is
// silent for 30 s, and the browser SDK sends every few seconds.
const wsHeartbeat = 5 * time.Second

var errWSClosed = errors.New("bench: the /ws connection closed")

// ErrWSCrossNode refuses /ws rooms in a cross-node run: a /ws member
// publishes and plays on its one connection, to one node, so its room
// cannot put the publisher on one node and the viewer on another.
var ErrWSCrossNode = errors.New("bench: /ws rooms cannot run cross-node (one connection per member); use whip or rtmp rooms")

// wsClient is one member joined through trtcd's /ws signalling
// (docs/protocol.md): requests with ids, one reply each, events ignored.
type wsClient struct {
	conn *websocket.Conn

	writeMu sync.Mutex
	mu      sync.Mutex
	nextID  int64
	waiting map[int64]chan wsReply
	done    chan struct{}
	once    sync.Once
}

type wsReply struct {
	ID      int64           `json:"id"`
	Type    string          `json:"type"`
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// dialWS connects to t's /ws and joins room as user.
func dialWS(ctx context.Context, t Target, room, user string) (*wsClient, error) {
	roomID, err := strconv.ParseUint(room, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("room %q: /ws rooms here are numeric", room)
	}
	url := "ws" + strings.TrimPrefix(t.URL, "http") + "/ws"
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	c := &wsClient{conn: conn, waiting: map[int64]chan wsReply{}, done: make(chan struct{})}
	go c.readLoop()
	sig := ""
	if t.Auth != nil {
		sig, _ = t.Auth(room, user)
	}
	join := map[string]any{"sdkAppId": t.App, "userId": user, "userSig": sig, "roomId": roomID}
	if err := c.request(ctx, "join", join, nil); err != nil {
		c.Close()
		return nil, fmt.Errorf("join as %s: %w", user, err)
	}
	go c.heartbeats()
	return c, nil
}

// request sends one request and waits for its reply; out receives the
// reply's data when not nil.
func (c *wsClient) request(ctx context.Context, typ string, data, out any) error {
	reply := make(chan wsReply, 1)
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.waiting[id] = reply
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
	}()
	frame := map[string]any{"id": id, "type": typ}
	if data != nil {
		frame["data"] = data
	}
	c.writeMu.Lock()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	err := c.conn.WriteJSON(frame)
	c.writeMu.Unlock()
	if err != nil {
		return err
	}
	select {
	case r := <-reply:
		if r.Code != 0 {
			return fmt.Errorf("%s: code %d: %s", typ, r.Code, r.Message)
		}
		if out != nil {
			return json.Unmarshal(r.Data, out)
		}
		return nil
	case <-c.done:
		return errWSClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *wsClient) readLoop() {
	defer c.Close()
	for {
		var r wsReply
		if err := c.conn.ReadJSON(&r); err != nil {
			return
		}
		if r.Type != "reply" {
			continue // events: the bench knows who publishes and subscribes by itself
		}
		c.mu.Lock()
		ch := c.waiting[r.ID]
		c.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
}

func (c *wsClient) heartbeats() {
	tick := time.NewTicker(wsHeartbeat)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			c.request(ctx, "heartbeat", nil, nil)
			cancel()
		case <-c.done:
			return
		}
	}
}

// publishSignal sends the member's offers as publish requests.
func (c *wsClient) publishSignal() signal {
	return func(ctx context.Context, offer string) (string, error) {
		var answer struct{ SDP string }
		err := c.request(ctx, "publish", map[string]string{"sdp": offer}, &answer)
		return answer.SDP, err
	}
}

// subscribeSignal sends the member's offers as subscriptions to publisher.
func (c *wsClient) subscribeSignal(publisher string) signal {
	return func(ctx context.Context, offer string) (string, error) {
		var answer struct{ SDP string }
		err := c.request(ctx, "subscribe", map[string]string{"userId": publisher, "sdp": offer}, &answer)
		return answer.SDP, err
	}
}

// Close leaves the room by closing the socket.
func (c *wsClient) Close() {
	c.once.Do(func() {
		close(c.done)
		c.conn.Close()
	})
}

// wsRoom holds the /ws members of one room: each member has one
// connection, used both to publish and to subscribe to the others.
type wsRoom struct {
	target Target
	room   string
	mu     sync.Mutex
	joined map[string]*wsClient
}

func newWSRoom(t Target, room string) *wsRoom {
	return &wsRoom{target: t, room: room, joined: map[string]*wsClient{}}
}

// member returns user's connection, joining on first use.
func (r *wsRoom) member(ctx context.Context, user string) (*wsClient, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.joined[user]; c != nil {
		return c, nil
	}
	c, err := dialWS(ctx, r.target, r.room, user)
	if err != nil {
		return nil, err
	}
	r.joined[user] = c
	return c, nil
}

func (r *wsRoom) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.joined {
		c.Close()
	}
}
