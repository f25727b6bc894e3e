package rtmp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/internal/testlog"
)

// A flood of idle sockets from one address fills only that address's
// places: past the cap its connections are closed at accept, a pusher from
// another address publishes, and the flooding address is served again once
// its sockets are gone. The refusals are counted, and logged in one line.
func TestPerAddressConnectionCapRefusesAFlood(t *testing.T) {
	var log testlog.Buffer
	s, addr := startServerLogging(t, &recorder{}, Limits{
		PerAddress:   limit.Config{PerSecond: -1, Connections: 500}, // the cap alone; the rate has its own test
		LoginTimeout: 5 * time.Minute, ReadTimeout: 5 * time.Minute, // the flood stays until we close it
	}, &log)

	var admitted []net.Conn
	refused := 0
	for range 600 {
		nc, ok := startHandshake(t, addr)
		if ok {
			admitted = append(admitted, nc)
		} else {
			refused++
		}
	}
	if len(admitted) != 500 || refused != 100 {
		t.Fatalf("%d admitted, %d refused; want 500 and 100", len(admitted), refused)
	}
	if got := s.Refusals(); got.AddressConns != 100 || got.Rate != 0 || got.ServerConns != 0 {
		t.Fatalf("Refusals() = %+v, want 100 over the address cap", got)
	}
	if n := strings.Count(log.String(), "refusing connections"); n != 1 {
		t.Fatalf("%d log lines for 100 refusals, want 1:\n%s", n, log.String())
	}

	publishes(t, dialClientFrom(t, addr, "127.0.0.2"), "other-address")

	for _, nc := range admitted {
		nc.Close()
	}
	waitFor(t, "the server to let go of the flood", func() bool { return s.addressConns("127.0.0.1") == 0 })
	publishes(t, dialClient(t, addr), "after-the-flood")
}

// New connections from one address are rate limited past the burst; the
// refused one is closed at accept and another address is served at once.
func TestPerAddressRateRefusesPastTheBurst(t *testing.T) {
	s, addr := startServer(t, &recorder{}, Limits{PerAddress: limit.Config{PerSecond: 0.001, Burst: 3}})
	for i := range 3 {
		if _, ok := startHandshake(t, addr); !ok {
			t.Fatalf("connection %d of a burst of 3 refused", i+1)
		}
	}
	if _, ok := startHandshake(t, addr); ok {
		t.Fatal("the 4th connection in a burst of 3 was served")
	}
	if got := s.Refusals(); got.Rate != 1 {
		t.Fatalf("Refusals() = %+v, want 1 over the rate", got)
	}
	publishes(t, dialClientFrom(t, addr, "127.0.0.2"), "other-address")
}

// A school behind one NAT address: 200 pushers connecting at once from one
// address are all served under the default limits.
func TestDefaultLimitsAdmit200JoinsFromOneAddress(t *testing.T) {
	s, addr := startServer(t, &recorder{}, Limits{})
	for i := range 200 {
		publishes(t, dialClient(t, addr), fmt.Sprintf("class-%d", i))
	}
	if got := s.Refusals(); got != (Refusals{}) {
		t.Fatalf("Refusals() = %+v, want none", got)
	}
}

// The login deadline bounds the whole time to a publish or play, however
// the client spends it: saying nothing, trickling the handshake, or pinging
// after connect. A client that published in time stays.
func TestLoginDeadlineClosesSocketsThatNeverPublishOrPlay(t *testing.T) {
	_, addr := startServer(t, &recorder{}, Limits{LoginTimeout: 500 * time.Millisecond,
		ReadTimeout: time.Minute, IdleTimeout: time.Minute}) // neither can be what closes them
	publisher := dialClient(t, addr)
	publishes(t, publisher, "in-time")

	silent := dial(t, addr)
	trickler := dial(t, addr)
	pinger := dialClient(t, addr)
	pinger.connect("live", "rtmp://127.0.0.1/live")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	defer func() { close(stop); wg.Wait() }()
	wg.Go(func() { trickle(trickler, []byte{3, 0}, stop) }) // C0, then C1 a byte at a time
	wg.Go(func() {
		ping := userControlMsg(eventPingRequest, 1)
		for range every(100*time.Millisecond, stop) {
			if pinger.send(csidControl, ping) != nil {
				return
			}
		}
	})
	for name, nc := range map[string]net.Conn{"silent": silent, "trickling the handshake": trickler, "pinging after connect": pinger.nc} {
		if !closedByServer(nc) {
			t.Errorf("a socket %s was not closed at the login deadline", name)
		}
	}
	// The publisher connected before the others, so its deadline passed too.
	pingRoundTrip(t, publisher)
	publishes(t, dialClient(t, addr), "next")
}

// A player waiting for an absent publisher gets nothing to write, so only
// the server's pings can tell that it is gone: one that answers nothing is
// closed and its Play ends, and the server goes on serving.
func TestPlayerThatAnswersNoPingIsClosed(t *testing.T) {
	h := newWaiter()
	_, addr := startServer(t, h, Limits{PingInterval: 100 * time.Millisecond, ReadTimeout: time.Second})
	c := dialClient(t, addr)
	sid := c.connect("live", "rtmp://127.0.0.1/live")
	c.command(sid, "play", 3.0, nil, "absent")
	ctx := h.playing(t, "absent")
	if !closedByServer(c.nc) {
		t.Fatal("a player that answers no ping was not closed")
	}
	<-ctx.Done() // its Play ended: the handler's slot is free
	publishes(t, dialClient(t, addr), "next")
}

// A panic in a Handler ends only the connection it happened on: it is
// counted, the other connections go on, and new ones are served.
func TestHandlerPanicEndsOnlyItsConnection(t *testing.T) {
	_, addr := startServer(t, &panicky{}, Limits{ReadTimeout: time.Minute}) // the bystander publishes nothing
	bystander := dialClient(t, addr)
	publishes(t, bystander, "bystander")
	before := panics.Count(panics.RTMP)

	pub := dialClient(t, addr)
	sid := pub.connect("live", "rtmp://127.0.0.1/live")
	pub.command(sid, "publish", 5.0, nil, "panic", "live")
	if !closedByServer(pub.nc) {
		t.Fatal("the connection whose Publish panicked stayed open")
	}
	player := dialClient(t, addr)
	sid = player.connect("live", "rtmp://127.0.0.1/live")
	player.command(sid, "play", 3.0, nil, "panic")
	if !closedByServer(player.nc) {
		t.Fatal("the connection whose Play panicked stayed open")
	}
	if got := panics.Count(panics.RTMP) - before; got != 2 {
		t.Fatalf("%v panics counted, want 2", got)
	}
	pingRoundTrip(t, bystander)
	publishes(t, dialClient(t, addr), "next")
}

// panicky is a Handler with a bug that the stream name "panic" reaches.
type panicky struct{ recorder }

func (p *panicky) Publish(ctx context.Context, c *ConnInfo, app, name string, q url.Values) (Publisher, error) {
	if name == "panic" {
		var m map[string]int
		m[name]++ // a nil map: the kind of bug a recover is the last defence against
	}
	return p.recorder.Publish(ctx, c, app, name, q)
}

func (p *panicky) Play(ctx context.Context, c *ConnInfo, app, name string, q url.Values, w TagWriter) error {
	if name == "panic" {
		var b []byte
		_ = b[len(name)]
	}
	return p.recorder.Play(ctx, c, app, name, q, w)
}

// waiter is a Handler whose players wait for a publisher that never comes,
// and which tells the test when each Play starts.
type waiter struct {
	recorder
	mu    sync.Mutex
	plays map[string]chan context.Context
}

func newWaiter() *waiter { return &waiter{plays: map[string]chan context.Context{}} }

func (h *waiter) started(name string) chan context.Context {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.plays[name] == nil {
		h.plays[name] = make(chan context.Context, 1)
	}
	return h.plays[name]
}

func (h *waiter) Play(ctx context.Context, c *ConnInfo, app, name string, q url.Values, w TagWriter) error {
	h.started(name) <- ctx
	<-ctx.Done()
	return nil
}

// playing waits for the Play of name and returns its context.
func (h *waiter) playing(t *testing.T, name string) context.Context {
	t.Helper()
	select {
	case ctx := <-h.started(name):
		return ctx
	case <-time.After(30 * time.Second):
		t.Fatalf("Play(%q) was not called", name)
		return nil
	}
}

// addressConns is how many connections the server holds from addr.
func (s *Server) addressConns(addr string) int {
	s.mu.Lock()
	g := s.perAddr
	s.mu.Unlock()
	return g.Connections(addr)
}

// publishes runs connect, createStream and publish and expects the start.
func publishes(t *testing.T, c *testClient, name string) {
	t.Helper()
	sid := c.connect("live", "rtmp://127.0.0.1/live")
	c.command(sid, "publish", 5.0, nil, name, "live")
	if v := c.readCommand("onStatus"); statusCode(v) != "NetStream.Publish.Start" {
		t.Fatalf("publish %s: status %v", name, v)
	}
}

// pingRoundTrip expects the server to answer a ping: the connection is
// served.
func pingRoundTrip(t *testing.T, c *testClient) {
	t.Helper()
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := c.send(csidControl, userControlMsg(eventPingRequest, 7)); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := c.read()
		if err != nil {
			t.Fatalf("waiting for a ping response: %v", err)
		}
		if m.typeID == msgUserControl && binary.BigEndian.Uint16(m.payload) == eventPingResponse {
			return
		}
	}
}

// startHandshake dials, sends C0+C1 and reports whether the server
// answered; a refused connection is closed unanswered.
func startHandshake(t *testing.T, addr string) (net.Conn, bool) {
	t.Helper()
	nc := dial(t, addr)
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := nc.Write(append([]byte{3}, clientHandshakeC1(8)...)); err != nil {
		return nc, false
	}
	if _, err := nc.Read(make([]byte, 1)); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the server neither answered nor closed")
		}
		return nc, false
	}
	return nc, true
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// closedByServer reads until the server closes nc; false if it was still
// open after 30 s, far longer than any deadline a test configures.
func closedByServer(nc net.Conn) bool {
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 4096)
	for {
		_, err := nc.Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return false
		}
		if err != nil {
			return true
		}
	}
}

// trickle writes first, then one byte of zeros every 100 ms until a write
// fails or stop closes.
func trickle(nc net.Conn, first []byte, stop <-chan struct{}) {
	if _, err := nc.Write(first); err != nil {
		return
	}
	for range every(100*time.Millisecond, stop) {
		if _, err := nc.Write([]byte{0}); err != nil {
			return
		}
	}
}

// every yields each tick of d until stop closes.
func every(d time.Duration, stop <-chan struct{}) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		defer close(out)
		tick := time.NewTicker(d)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			select {
			case out <- struct{}{}:
			case <-stop:
				return
			}
		}
	}()
	return out
}

// waitFor polls cond until it holds, failing after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

var _ io.Writer = (*testlog.Buffer)(nil)
