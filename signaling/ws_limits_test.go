package signaling

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

	"github.com/trtcd/trtcd/internal/panics"
)

// A school behind one NAT address: 200 clients connect and join at once
// under the default limits, and every join succeeds.
func TestWebSocketAdmitsTwoHundredJoinsFromOneAddress(t *testing.T) {
	s := startWHIP(t)
	const clients = 200
	start := time.Now()
	var wg sync.WaitGroup
	codes := make([]Reply, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := websocket.DefaultDialer.Dial(wsURL(s), nil)
			if err != nil {
				codes[i] = Reply{Code: -1, Message: err.Error()}
				return
			}
			defer c.Close()
			raw, _ := json.Marshal(joinData(open, fmt.Sprintf("pupil%d", i), uint32(6000+i/2)))
			c.WriteJSON(Request{ID: 1, Type: "join", Data: raw})
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
	limits := DefaultWSLimits
	limits.ConnectionsPerIP = 3
	s := startSignaling(t, 0, limits)
	held := []*wsClient{dial(t, s), dial(t, s), dial(t, s)}
	_, resp, err := websocket.DefaultDialer.Dial(wsURL(s), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests || codeOfBody(resp) != CodeRateLimited {
		t.Fatalf("a 4th socket from one address: %v %v, want 429 with code %d", err, resp, CodeRateLimited)
	}
	other := dialWith(t, s, fromAddressWS("127.0.0.2"))
	if r := other.join(joinData(open, "olga", 70)); r.Code != 0 {
		t.Fatalf("a client at another address: %d %s", r.Code, r.Message)
	}
	held[0].c.Close()
	waitUntil(t, "the closed socket's place given back", 10*time.Second, func() bool {
		return s.ws.perIP.Connections("127.0.0.1") == 2
	})
	if r := dial(t, s).join(joinData(open, "nina", 71)); r.Code != 0 {
		t.Fatalf("a socket after one closed: %d %s", r.Code, r.Message)
	}
}

func codeOfBody(resp *http.Response) Code {
	var e struct {
		Code Code `json:"code"`
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
	limits := DefaultWSLimits
	limits.LoginTimeout = 500 * time.Millisecond
	s := startSignaling(t, 0, limits)
	member := dial(t, s)
	if r := member.join(joinData(open, "maria", 80)); r.Code != 0 {
		t.Fatalf("join: %d %s", r.Code, r.Message)
	}
	silent, trickling := dial(t, s), dial(t, s)
	for trickling.request("heartbeat", nil).Code != -1 { // -1: closed
		time.Sleep(100 * time.Millisecond)
	}
	<-silent.closed
	for name, c := range map[string]*wsClient{"a silent socket": silent, "a socket sending heartbeats": trickling} {
		if c.last.Code != CodeHeartbeatTimeout || !strings.Contains(c.last.Message, "no login") {
			t.Errorf("%s was closed with %d %q, want %d", name, c.last.Code, c.last.Message, CodeHeartbeatTimeout)
		}
	}
	// The member's deadline has passed too: it opened before them.
	if r := member.request("heartbeat", nil); r.Code != 0 {
		t.Fatalf("a member after the login deadline: %d %s", r.Code, r.Message)
	}
}

// A client that does not read while the server has frames for it is told
// 14009 and closed once MaxQueuedBytes wait for it; the frames it missed
// are dropped, not kept.
func TestWebSocketSlowReaderIsClosed(t *testing.T) {
	limits := DefaultWSLimits
	limits.MaxQueuedBytes = 256 << 10
	limits.MessagesPerSecond, limits.MessageBurst = 1e6, 1e6
	s := startServer(t, 0, func(s *whipServer) {
		s.ws.Limits = limits
		s.Listener = smallSendBuffers{s.Listener} // so that the kernel holds little
	})
	d := &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			c.(*net.TCPConn).SetReadBuffer(4 << 10)
		}
		return c, err
	}}
	c, _, err := d.Dial(wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const requests = 40 // each answered with ~60 KB: 2.4 MB in all
	echoed := strings.Repeat("x", 60<<10)
	for i := range requests {
		if err := c.WriteJSON(Request{ID: int64(i + 1), Type: echoed}); err != nil {
			t.Fatal(err)
		}
	}
	replies, last := 0, Reply{}
	for {
		var r Reply
		if c.ReadJSON(&r) != nil {
			break
		}
		replies, last = replies+1, r
	}
	if last.Code != CodeRateLimited || replies >= requests+1 {
		t.Fatalf("after %d replies the last was %d %q, want %d and fewer than %d", replies, last.Code, last.Message, CodeRateLimited, requests)
	}
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
	s := startServer(t, 0, func(s *whipServer) {
		s.ws.Now = func() time.Time {
			if panicked.CompareAndSwap(false, true) {
				panic("a bug a client's frame reaches")
			}
			return time.Now()
		}
	})
	before := panics.Count(panics.WS)
	victim := dial(t, s)
	if r := victim.join(joinData(open, "pat", 90)); r.Code != -1 {
		t.Fatalf("the frame that panicked got a reply: %d %s", r.Code, r.Message)
	}
	if got := panics.Count(panics.WS) - before; got != 1 {
		t.Fatalf("%v panics counted, want 1", got)
	}
	if r := dial(t, s).join(joinData(open, "quinn", 90)); r.Code != 0 {
		t.Fatalf("the next client: %d %s", r.Code, r.Message)
	}
}
