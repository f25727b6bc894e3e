package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/internal/testws"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
	"github.com/trtcd/trtcd/ws"
)

// A school behind one NAT address: 200 clients connect and join at once
// under the default limits, and every join succeeds.
func TestWebSocketAdmitsTwoHundredJoinsFromOneAddress(t *testing.T) {
	s := testways.Start(t, 0, nil)
	const clients = 200
	start := time.Now()
	var wg sync.WaitGroup
	codes := make([]ws.Reply, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := websocket.DefaultDialer.Dial(testws.URL(s.URL), nil)
			if err != nil {
				codes[i] = ws.Reply{Code: -1, Message: err.Error()}
				return
			}
			defer c.Close()
			raw, _ := json.Marshal(joinData(testways.OpenApp, fmt.Sprintf("pupil%d", i), uint32(6000+i/2)))
			c.WriteJSON(ws.Request{ID: 1, Type: "join", Data: raw})
			c.ReadJSON(&codes[i])
		}()
	}
	wg.Wait()
	t.Logf("%d joins from one address in %s", clients, time.Since(start).Round(time.Millisecond))
	for i, r := range codes {
		if r.Code != 0 {
			t.Fatalf("client %d: %d %s", i, r.Code, r.Message)
		}
	}
}

// Past ConnectionsPerIP sockets from one address the next is refused with
// HTTP 429 and 14009; a client at another address is served, and when a
// socket closes its place is given back.
func TestWebSocketConnectionsPerAddress(t *testing.T) {
	limits := ws.DefaultLimits
	limits.ConnectionsPerIP = 3
	s := testways.Start(t, 0, func(w *testways.Ways) { w.WS.Limits = limits })
	held := []*testws.Client{s.DialWS(t), s.DialWS(t), s.DialWS(t)}
	_, resp, err := websocket.DefaultDialer.Dial(testws.URL(s.URL), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests || codeOfBody(resp) != trtc.CodeRateLimited {
		t.Fatalf("a 4th socket from one address: %v %v, want 429 with code %d", err, resp, trtc.CodeRateLimited)
	}
	other := testws.OpenWith(t, testws.URL(s.URL), fromAddressWS("127.0.0.2"))
	if r := other.Join(joinData(testways.OpenApp, "olga", 70)); r.Code != 0 {
		t.Fatalf("a client at another address: %d %s", r.Code, r.Message)
	}
	held[0].Conn.Close()
	testpeer.WaitFor(t, "the closed socket's place given back", 10*time.Second, func() bool {
		return s.WS.ConnectionsFrom("127.0.0.1") == 2
	})
	if r := s.DialWS(t).Join(joinData(testways.OpenApp, "nina", 71)); r.Code != 0 {
		t.Fatalf("a socket after one closed: %d %s", r.Code, r.Message)
	}
}

func codeOfBody(resp *http.Response) trtc.Code {
	var e struct {
		Code trtc.Code `json:"code"`
	}
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &e)
	return e.Code
}

func fromAddressWS(ip string) *websocket.Dialer {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &websocket.Dialer{NetDialContext: d.DialContext}
}

// A socket that has not logged in by LoginTimeout is told 14005 and
// closed, whether it is silent or keeps sending; one that joined in time
// stays.
func TestWebSocketLoginDeadline(t *testing.T) {
	limits := ws.DefaultLimits
	limits.LoginTimeout = 500 * time.Millisecond
	s := testways.Start(t, 0, func(w *testways.Ways) { w.WS.Limits = limits })
	member := s.DialWS(t)
	if r := member.Join(joinData(testways.OpenApp, "maria", 80)); r.Code != 0 {
		t.Fatalf("join: %d %s", r.Code, r.Message)
	}
	silent, trickling := s.DialWS(t), s.DialWS(t)
	for trickling.Request("heartbeat", nil).Code != -1 { // -1: closed
		time.Sleep(100 * time.Millisecond)
	}
	<-silent.Closed
	for name, c := range map[string]*testws.Client{"a silent socket": silent, "a socket sending heartbeats": trickling} {
		if c.Last().Code != trtc.CodeHeartbeatTimeout || !strings.Contains(c.Last().Message, "no login") {
			t.Errorf("%s was closed with %d %q, want %d", name, c.Last().Code, c.Last().Message, trtc.CodeHeartbeatTimeout)
		}
	}
	// The member's deadline has passed too: it opened before them.
	if r := member.Request("heartbeat", nil); r.Code != 0 {
		t.Fatalf("a member after the login deadline: %d %s", r.Code, r.Message)
	}
}

// A member that does not read while the server has frames for it is told
// 14009 and closed once MaxQueuedBytes wait for it; the frames it missed
// are dropped, not kept.
func TestWebSocketSlowReaderIsClosed(t *testing.T) {
	limits := ws.DefaultLimits
	limits.MaxQueuedBytes = 32 << 10
	limits.MessagesPerSecond, limits.MessageBurst = 1e6, 1e6
	s := testways.Start(t, 0, func(s *testways.Ways) {
		s.WS.Limits = limits
		s.Listener = smallSendBuffers{s.Listener} // so that the kernel holds little
	})
	fillRoom(t, s, 95, 19) // each members reply lists 20: about 2 KB
	c := dialSmallReadBuffer(t, s)
	if err := c.WriteJSON(ws.Request{ID: 1, Type: "join", Data: mustJSON(joinData(testways.OpenApp, "slow", 95))}); err != nil {
		t.Fatal(err)
	}
	if r := readReply(t, c); r.Code != 0 {
		t.Fatalf("join: %d %s", r.Code, r.Message)
	}
	const requests = 100 // about 200 KB of replies
	for i := range requests {
		if err := c.WriteJSON(ws.Request{ID: int64(i + 2), Type: "members"}); err != nil {
			t.Fatal(err)
		}
	}
	closedEarly(t, c, requests)
}

// Before login a socket gets only short replies, and its queue is small:
// one that sends requests without reading is told 14009 and closed long
// before the queue of a member (4 MiB) would be full.
func TestWebSocketQueueBeforeLoginIsSmall(t *testing.T) {
	limits := ws.DefaultLimits
	limits.MessagesPerSecond, limits.MessageBurst = 1e6, 1e6
	s := testways.Start(t, 0, func(s *testways.Ways) {
		s.WS.Limits = limits
		s.Listener = smallSendBuffers{s.Listener}
	})
	c := dialSmallReadBuffer(t, s)
	const requests = 2000 // each refused with about 130 bytes queued: 260 KB in all
	for i := range requests {
		if err := c.WriteJSON(ws.Request{ID: int64(i + 1), Type: "heartbeat"}); err != nil {
			t.Fatal(err)
		}
	}
	closedEarly(t, c, requests)
}

// An address's place is held until its socket is closed, not only until
// the server stops reading it: a client that floods and does not read
// leaves its socket (and what is queued for it) testways.OpenApp a while after its
// last frame was read. No reply echoes a long request type either.
func TestWebSocketAddressHeldUntilTheSocketCloses(t *testing.T) {
	limits := ws.DefaultLimits
	limits.ConnectionsPerIP = 1
	limits.MessagesPerSecond = 0.001 // the 41st frame is over the rate
	held := &heldClose{closing: make(chan struct{}), release: make(chan struct{})}
	s := testways.Start(t, 0, func(s *testways.Ways) {
		s.WS.Limits = limits
		held.Listener = s.Listener
		s.Listener = held
	})
	t.Cleanup(held.letGo)
	before := refusedCount(t, "ws", "connections")
	flooder, _, err := websocket.DefaultDialer.Dial(testws.URL(s.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer flooder.Close()
	longType := strings.Repeat("x", 60<<10)
	for i := range limits.MessageBurst + 1 {
		if err := flooder.WriteJSON(ws.Request{ID: int64(i + 1), Type: longType}); err != nil {
			t.Fatal(err)
		}
	}
	select { // the server is closing the flooder's socket; it is not closed yet
	case <-held.closing:
	case <-time.After(30 * time.Second):
		t.Fatal("the flooder's socket is not being closed")
	}
	_, resp, err := websocket.DefaultDialer.Dial(testws.URL(s.URL), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests || codeOfBody(resp) != trtc.CodeRateLimited {
		t.Fatalf("a socket while the flooder's is still testways.OpenApp: %v %v, want 429 with code %d", err, resp, trtc.CodeRateLimited)
	}
	if got := refusedCount(t, "ws", "connections") - before; got != 1 {
		t.Errorf("trtcd_refused_total{listener=ws,reason=connections} rose by %v, want 1", got)
	}
	held.letGo()
	testpeer.WaitFor(t, "the closed socket's place given back", 10*time.Second, func() bool {
		return s.WS.ConnectionsFrom("127.0.0.1") == 0
	})
	if r := s.DialWS(t).Join(joinData(testways.OpenApp, "after", 96)); r.Code != 0 {
		t.Fatalf("a socket after the flooder's closed: %d %s", r.Code, r.Message)
	}
	expectShortReplies(t, flooder, limits.MessageBurst)
}

// expectShortReplies reads the flooder's replies: each long type refused
// with 82 without quoting it, then 14009 for the rate.
func expectShortReplies(t *testing.T, c *websocket.Conn, refused int) {
	t.Helper()
	for i := range refused + 1 {
		r := readReply(t, c)
		want := trtc.CodeParamCheckFailed
		if i == refused {
			want = trtc.CodeRateLimited
		}
		if r.Code != want || len(r.Message) > 100 || strings.Contains(r.Message, "xxxx") {
			t.Fatalf("reply %d: %d with %d bytes %.60q, want %d and a short message", i+1, r.Code, len(r.Message), r.Message, want)
		}
	}
}

// heldClose holds the Close of the first connection it accepts until
// letGo, and says when that Close starts: a test then acts while the
// server is closing the socket, with nothing left to chance.
type heldClose struct {
	net.Listener
	first   sync.Once
	closing chan struct{} // closed when the first connection's Close starts
	release chan struct{} // closed by letGo
	let     sync.Once
}

func (l *heldClose) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	l.first.Do(func() { c = &heldConn{Conn: c, l: l} })
	return c, nil
}

func (l *heldClose) letGo() { l.let.Do(func() { close(l.release) }) }

type heldConn struct {
	net.Conn
	l    *heldClose
	once sync.Once
}

func (c *heldConn) Close() error {
	c.once.Do(func() {
		close(c.l.closing)
		<-c.l.release
	})
	return c.Conn.Close()
}

// refusedCount reads trtcd_refused_total for a listener and reason.
func refusedCount(t *testing.T, listener, reason string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(limit.Refused)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["listener"] == listener && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// fillRoom puts members with long ids in a room, in process.
func fillRoom(t *testing.T, s *testways.Ways, room uint32, members int) {
	t.Helper()
	for i := range members {
		user := fmt.Sprintf("member-%02d-%s", i, strings.Repeat("m", 20))
		if _, e := s.Gate.Admit(context.Background(), trtc.Request{Intent: trtc.Enter, Peer: quietPeer{},
			Credentials: trtc.Credentials{SDKAppID: testways.OpenApp, UserID: user, UserSig: testways.UserSig(testways.OpenApp, user, time.Hour),
				Room: tlssig.Room{ID: room}}}); e != nil {
			t.Fatal(e)
		}
	}
}

// quietPeer is a member with no client: it drops its events.
type quietPeer struct{}

func (quietPeer) Notify(trtc.Event) {}
func (quietPeer) Kick(*trtc.Error)  {}

// dialSmallReadBuffer connects with a small kernel receive buffer, so that
// a client that does not read soon leaves the server's frames queued.
func dialSmallReadBuffer(t *testing.T, s *testways.Ways) *websocket.Conn {
	t.Helper()
	d := &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			c.(*net.TCPConn).SetReadBuffer(4 << 10)
		}
		return c, err
	}}
	c, _, err := d.Dial(testws.URL(s.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readReply(t *testing.T, c *websocket.Conn) ws.Reply {
	t.Helper()
	var r ws.Reply
	if err := c.ReadJSON(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// readAll reads replies until the server closes the socket.
func readAll(c *websocket.Conn) (replies int, last ws.Reply) {
	for {
		var r ws.Reply
		if c.ReadJSON(&r) != nil {
			return replies, last
		}
		replies, last = replies+1, r
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// smallSendBuffers gives accepted connections a small kernel send buffer.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tcp, ok := c.(*net.TCPConn); ok {
		tcp.SetWriteBuffer(8 << 10)
	}
	return c, err
}

// A panic while handling a client's frame ends that connection only: it is
// counted, and the next client is served.
func TestWebSocketPanicEndsOnlyItsConnection(t *testing.T) {
	var panicked atomic.Bool
	s := testways.Start(t, 0, func(s *testways.Ways) {
		s.Gate.Now = func() time.Time {
			if panicked.CompareAndSwap(false, true) {
				panic("a bug a client's frame reaches")
			}
			return time.Now()
		}
	})
	before := panics.Count(panics.WS)
	victim := s.DialWS(t)
	if r := victim.Join(joinData(testways.OpenApp, "pat", 90)); r.Code != -1 {
		t.Fatalf("the frame that panicked got a reply: %d %s", r.Code, r.Message)
	}
	if got := panics.Count(panics.WS) - before; got != 1 {
		t.Fatalf("%v panics counted, want 1", got)
	}
	if r := s.DialWS(t).Join(joinData(testways.OpenApp, "quinn", 90)); r.Code != 0 {
		t.Fatalf("the next client: %d %s", r.Code, r.Message)
	}
}

// closedEarly reads what the server sends until it closes: fewer replies
// than requests, or the queue held them all. The closing 14009 follows the
// last reply that fit, but a client that does not read can lose it: the
// server closes after a second's linger with its input unread, and the
// kernel's reset then discards what the client had not read yet.
func closedEarly(t *testing.T, c *websocket.Conn, requests int) {
	t.Helper()
	replies, last := readAll(c)
	if replies >= requests {
		t.Fatalf("all %d replies were queued for a client that did not read", replies)
	}
	if last.Code != trtc.CodeRateLimited {
		t.Logf("the closing 14009 was lost to the reset after %d replies (last %d %q)", replies, last.Code, last.Message)
	}
}
