package testws

import (
	"cmp"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trtcd/trtcd/ws"
)

// Client is a /ws client that reads the frames as package ws types them,
// for the tests of the protocol itself: requests may run at once, each
// waiting for its reply, and the events are kept to be waited for by name.
// It sends no heartbeats of its own.
type Client struct {
	t    testing.TB
	Conn *websocket.Conn
	// Closed is closed when the server has closed the connection.
	Closed chan struct{}
	// Wait bounds a request's wait for its reply (15 s when zero).
	Wait time.Duration

	nextID atomic.Int64
	mu     sync.Mutex
	events []ws.EventFrame
	waits  map[int64]chan ws.Reply
	last   ws.Reply // an unsolicited reply (a limit being enforced)
}

// URL is the /ws address of an HTTP server's base URL (http://host:port).
func URL(base string) string { return "ws" + strings.TrimPrefix(base, "http") + "/ws" }

// Open connects to url (URL's) with websocket.DefaultDialer.
func Open(t testing.TB, url string) *Client { return OpenWith(t, url, websocket.DefaultDialer) }

// OpenWith connects with a given dialer (from another address, with small
// buffers).
func OpenWith(t testing.TB, url string, d *websocket.Dialer) *Client {
	t.Helper()
	conn, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{t: t, Conn: conn, waits: map[int64]chan ws.Reply{}, Closed: make(chan struct{})}
	go c.read()
	t.Cleanup(func() { conn.Close() })
	return c
}

func (c *Client) read() {
	defer close(c.Closed)
	for {
		_, b, err := c.Conn.ReadMessage()
		if err != nil {
			return
		}
		var probe struct {
			Type string `json:"type"`
			ID   int64  `json:"id"`
		}
		json.Unmarshal(b, &probe)
		c.mu.Lock()
		if probe.Type == "event" {
			var e ws.EventFrame
			json.Unmarshal(b, &e)
			c.events = append(c.events, e)
		} else {
			var r ws.Reply
			json.Unmarshal(b, &r)
			if ch := c.waits[r.ID]; ch != nil && r.ID != 0 {
				ch <- r
			} else {
				c.last = r
			}
		}
		c.mu.Unlock()
	}
}

// Request sends a request and waits for its reply: code -1 when the
// connection closed first.
func (c *Client) Request(typ string, data any) ws.Reply {
	c.t.Helper()
	id := c.nextID.Add(1)
	ch := make(chan ws.Reply, 1)
	c.mu.Lock()
	c.waits[id] = ch
	c.mu.Unlock()
	raw, _ := json.Marshal(data)
	if err := c.Conn.WriteJSON(ws.Request{ID: id, Type: typ, Data: raw}); err != nil {
		return ws.Reply{Code: -1, Message: err.Error()}
	}
	select {
	case r := <-ch:
		return r
	case <-c.Closed:
		return ws.Reply{Code: -1, Message: "connection closed"}
	case <-time.After(cmp.Or(c.Wait, 15*time.Second)):
		c.t.Fatalf("no reply to %s", typ)
	}
	return ws.Reply{}
}

// Join sends a join request and waits for its reply.
func (c *Client) Join(d ws.JoinData) ws.Reply { return c.Request("join", d) }

// Event waits up to within for an event called name, takes it and
// returns its data.
func (c *Client) Event(name string, within time.Duration) (map[string]any, bool) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for i, e := range c.events {
			if e.Event == name {
				c.events = append(c.events[:i:i], c.events[i+1:]...)
				c.mu.Unlock()
				m, _ := e.Data.(map[string]any)
				return m, true
			}
		}
		c.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	return nil, false
}

// Events are the events received and not taken, in order.
func (c *Client) Events() []ws.EventFrame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]ws.EventFrame(nil), c.events...)
}

// Count is how many of the events received and not taken are called
// name.
func (c *Client) Count(name string) int {
	n := 0
	for _, e := range c.Events() {
		if e.Event == name {
			n++
		}
	}
	return n
}

// Last is the last reply that answered no request: why the server closed
// the connection.
func (c *Client) Last() ws.Reply {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
