package websdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/internal/testlog"
	"github.com/trtcd/trtcd/trtc"
)

// limitedServer serves the Web SDK endpoints with these limits and logs
// into the returned buffer.
func limitedServer(t *testing.T, limits Limits) (string, *Handler, *testlog.Buffer) {
	t.Helper()
	apps, err := trtc.NewApps(trtc.App{SDKAppID: testApp, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	rooms := trtc.NewRegistry(1000, time.Hour) // members of a long test send no heartbeat
	t.Cleanup(rooms.Close)
	logs := &testlog.Buffer{}
	h := &Handler{Gate: &trtc.Gate{Apps: apps, Rooms: rooms}, Limits: limits,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, h, logs
}

// logLines counts the lines logged so far.
func logLines(logs *testlog.Buffer) int { return strings.Count(logs.String(), "\n") }

// dialFrom opens a signalling socket from the local address from (127.0.0.1
// or another loopback address, which counts as another client) with small
// buffers, so that thousands of them cost the test little. A refused
// upgrade returns its HTTP answer.
func dialFrom(from, base, user, userSig string) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 1024, HandshakeTimeout: 30 * time.Second,
		NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}
	q := url.Values{"sdkAppId": {strconv.Itoa(testApp)}, "userId": {user}, "userSig": {userSig}}
	return d.Dial("ws"+strings.TrimPrefix(base, "http")+Prefix+"?"+q.Encode(), nil)
}

// refusal checks that an upgrade was refused as the per-address limits
// refuse: HTTP 429 with code 14009.
func refusal(resp *http.Response, err error) error {
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil {
		return fmt.Errorf("not a refused upgrade: %v", err)
	}
	var body struct {
		Code    trtc.Code `json:"code"`
		Message string    `json:"message"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTooManyRequests || json.Unmarshal(b, &body) != nil ||
		body.Code != trtc.CodeRateLimited || body.Message == "" {
		return fmt.Errorf("refused with %d %s, want 429 with code 14009", resp.StatusCode, b)
	}
	return nil
}

// readSetup reads the channel setup (19) that every socket gets first.
func readSetup(ws *websocket.Conn) error {
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		return err
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil || f.Cmd != cmdChannelSetup {
		return fmt.Errorf("first frame %s, want %d", b, cmdChannelSetup)
	}
	return nil
}

// joinAs is a good client: it logs in from address from and gets
// everyone in the room.
func joinAs(t *testing.T, from, base, user string) *sdkClient {
	t.Helper()
	ws, resp, err := dialFrom(from, base, user, sig(user))
	if err != nil {
		t.Fatalf("%s from %s: %v %v", user, from, err, refusal(resp, err))
	}
	t.Cleanup(func() { ws.Close() })
	c := &sdkClient{t: t, ws: ws}
	if f := c.join("1234", false, ""); f.Code != 0 {
		t.Fatalf("%s's join: %+v", user, f)
	}
	c.send("get_user_list", struct{}{})
	if f := c.next(cmdUserListResult); !strings.Contains(string(f.Data), `"userId":"`+user+`"`) {
		t.Fatalf("%s's user list: %s", user, f.Data)
	}
	return c
}

// parallel runs f(i) for i in [0, n) on a few workers.
func parallel(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		})
	}
	wg.Wait()
}

// usedMemory is what the heap and the goroutine stacks hold after a
// collection: what the sockets cost, without the garbage.
func usedMemory() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// rss is the process's resident memory (Linux), for the log.
func rss() string {
	b, _ := os.ReadFile("/proc/self/status")
	for l := range strings.Lines(string(b)) {
		if strings.HasPrefix(l, "VmRSS:") {
			return strings.Join(strings.Fields(l)[1:], " ")
		}
	}
	return "?"
}

// waitFor waits for cond, which the server makes true by itself.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s after 30 s", what)
		}
	}
}

// sampledLines is how many lines the handler's sampled logs may have
// written since start: one a second for each kind (refused sockets,
// refused commands and joins, floods).
func sampledLines(start time.Time) int {
	return 4 * (int(time.Since(start)/time.Second) + 1)
}

// Per socket held before login, at most this much memory (both ends of the
// socket are in this process) and this many goroutines. Before the limits
// a socket cost four goroutines and about 70 KB.
const (
	maxBytesPerIdleSocket      = 24 << 10
	maxGoroutinesPerIdleSocket = 1.1
)

func TestLimitsDefaultsAndNone(t *testing.T) {
	if got := (Limits{}).resolved(); got != DefaultLimits {
		t.Fatalf("zero limits resolve to %+v, want the defaults %+v", got, DefaultLimits)
	}
	none := Limits{PerAddress: limit.Config{PerSecond: -1, Connections: -1}, LoginTimeout: -1,
		MessagesPerSecond: -1, LoginMessagesPerSecond: -1, MaxQueuedBytes: -1}.resolved()
	if none.PerAddress.PerSecond != 0 || none.PerAddress.Connections != 0 || none.LoginTimeout != 0 || none.MaxQueuedBytes != 0 ||
		rate.Limit(none.MessagesPerSecond) != rate.Inf || rate.Limit(none.LoginMessagesPerSecond) != rate.Inf {
		t.Fatalf("negative limits resolve to %+v, want none", none)
	}
}

// 3,000 sockets without credentials from one address: 500 are held (the
// default cap), the others are refused with 429 and code 14009, the held
// ones cost one goroutine and a few KB each, and another address is still
// served. Then, with a short login deadline, idle sockets are closed with
// 14009 in the close frame, and a good client from the same address logs
// in right after.
func TestThreeThousandSocketsFromOneAddress(t *testing.T) {
	const sockets, capacity = 3000, 500
	// No rate limit: what is tested here is the cap (the rate has its test).
	base, h, logs := limitedServer(t, Limits{PerAddress: limit.Config{PerSecond: -1}, LoginTimeout: time.Hour})
	mem0, goroutines0, rss0, start := usedMemory(), runtime.NumGoroutine(), rss(), time.Now()

	held := make([]*websocket.Conn, sockets)
	var refused atomic.Int64
	failures := make(chan error, sockets)
	parallel(sockets, func(i int) {
		ws, resp, err := dialFrom("127.0.0.1", base, fmt.Sprint("idle", i), "")
		if err != nil {
			if e := refusal(resp, err); e != nil {
				failures <- e
			}
			refused.Add(1)
			return
		}
		held[i] = ws
		if err := readSetup(ws); err != nil {
			failures <- err
		}
	})
	close(failures)
	for err := range failures {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, ws := range held {
			if ws != nil {
				ws.Close()
			}
		}
	})
	if got := refused.Load(); got != sockets-capacity {
		t.Fatalf("%d of %d sockets refused, want %d (the cap is %d)", got, sockets, sockets-capacity, capacity)
	}
	mem, goroutines := usedMemory(), runtime.NumGoroutine()
	perSocket := (int64(mem) - int64(mem0)) / capacity
	t.Logf("%d sockets held: %+d goroutines, %d B each (heap+stacks); RSS %s → %s", capacity, goroutines-goroutines0, perSocket, rss0, rss())
	if perSocket > maxBytesPerIdleSocket {
		t.Errorf("an idle socket costs %d bytes, want at most %d", perSocket, maxBytesPerIdleSocket)
	}
	if float64(goroutines-goroutines0) > maxGoroutinesPerIdleSocket*capacity {
		t.Errorf("%d idle sockets run %d goroutines", capacity, goroutines-goroutines0)
	}
	if n := logLines(logs); n > sampledLines(start) {
		t.Errorf("%d refusals wrote %d log lines:\n%s", sockets-capacity, n, logs)
	}
	if h.gate.Connections("127.0.0.1:1") != capacity {
		t.Fatalf("the gate counts %d sockets", h.gate.Connections("127.0.0.1:1"))
	}
	joinAs(t, "127.0.0.2", base, "from-another-address") // the cap is per address

	idleSocketsCloseAtTheLoginDeadline(t, capacity-1) // with one member
}

func idleSocketsCloseAtTheLoginDeadline(t *testing.T, sockets int) {
	base, h, _ := limitedServer(t, Limits{PerAddress: limit.Config{PerSecond: -1}, LoginTimeout: time.Second})
	goroutines0 := runtime.NumGoroutine()
	member := joinAs(t, "127.0.0.1", base, "early") // joined before the deadline: stays
	idle := make([]*websocket.Conn, sockets)
	failures := make(chan error, sockets)
	parallel(sockets, func(i int) {
		ws, resp, err := dialFrom("127.0.0.1", base, fmt.Sprint("idle", i), "")
		if err != nil {
			failures <- fmt.Errorf("socket %d: %v (%v)", i, err, refusal(resp, err))
			return
		}
		idle[i] = ws
		if err := readSetup(ws); err != nil {
			failures <- err
		}
	})
	close(failures)
	for err := range failures {
		t.Fatal(err)
	}
	for _, ws := range idle { // all dialed: their deadlines are at most a second away
		_, _, err := ws.ReadMessage() // the server closes it
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || !strings.HasPrefix(ce.Text, "14009 ") {
			t.Fatalf("an idle socket ended with %v, want a close 1008 with 14009", err)
		}
		ws.Close()
	}
	waitFor(t, "released by the gate", func() bool { return h.gate.Connections("127.0.0.1:1") == 1 })
	waitFor(t, "back to the goroutines before", func() bool { return runtime.NumGoroutine() <= goroutines0+10 })
	joinAs(t, "127.0.0.1", base, "good")
	member.send("get_user_list", struct{}{})
	if f := member.next(cmdUserListResult); !strings.Contains(string(f.Data), `"good"`) {
		t.Fatalf("the member who joined before the deadline sees %s", f.Data)
	}
}

// Sockets opened faster than the rate are refused with 429 and 14009; a
// client at another address is served at once.
func TestSocketRateFromOneAddress(t *testing.T) {
	base, _, _ := limitedServer(t, Limits{PerAddress: limit.Config{PerSecond: 0.001, Burst: 5}})
	for i := range 5 {
		ws, _, err := dialFrom("127.0.0.1", base, fmt.Sprint("u", i), "")
		if err != nil {
			t.Fatalf("socket %d within the burst: %v", i, err)
		}
		ws.Close()
	}
	_, resp, err := dialFrom("127.0.0.1", base, "one-too-many", "")
	if e := refusal(resp, err); e != nil {
		t.Fatal(e)
	}
	joinAs(t, "127.0.0.2", base, "neighbour")
}

// The defaults admit a school behind one NAT address: 200 pupils join at
// once, every one of them gets in.
func TestDefaultsAdmitASchoolBehindOneAddress(t *testing.T) {
	base, _, _ := limitedServer(t, Limits{})
	failures := make(chan error, 200)
	parallel(200, func(i int) {
		user := fmt.Sprint("pupil", i)
		ws, resp, err := dialFrom("127.0.0.1", base, user, sig(user))
		if err != nil {
			failures <- fmt.Errorf("%s: %v (%v)", user, err, refusal(resp, err))
			return
		}
		defer ws.Close()
		b, _ := json.Marshal(map[string]any{"cmd": "join", "seq": 1, "data": map[string]any{"roomId": fmt.Sprint(1000 + i/10)}})
		if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
			failures <- err
			return
		}
		ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		for {
			_, b, err := ws.ReadMessage()
			var f frame
			if err != nil || json.Unmarshal(b, &f) != nil {
				failures <- fmt.Errorf("%s: %v %s", user, err, b)
				return
			}
			if f.Cmd == cmdJoinResult {
				if f.Code != 0 {
					failures <- fmt.Errorf("%s's join: %d %s", user, f.Code, f.Message)
				}
				return
			}
		}
	})
	close(failures)
	for err := range failures {
		t.Error(err)
	}
}

// expectBanned reads up to the frame 9 that refuses a flood and the close
// that follows it.
func expectBanned(t *testing.T, ws *websocket.Conn) {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	banned := false
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !banned || !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure || !strings.HasPrefix(ce.Text, "14009 ") {
				t.Fatalf("the flood ended with %v (frame 9 seen: %v), want 9 then a close with 14009", err, banned)
			}
			return
		}
		var f frame
		json.Unmarshal(b, &f)
		if f.Cmd == cmdClientBanned {
			if f.Code != int(trtc.CodeRateLimited) || string(f.Data) != `{"reason":"banned"}` {
				t.Fatalf("flood refused with %s", b)
			}
			banned = true
		}
	}
}

// flood writes frames until the server closes the socket.
func flood(ws *websocket.Conn, frames int, cmd string) {
	for i := range frames {
		b, _ := json.Marshal(map[string]any{"cmd": cmd, "seq": i, "data": map[string]any{"sdp": "v=0"}})
		if ws.WriteMessage(websocket.TextMessage, b) != nil {
			return
		}
	}
}

// 20,000 frames that are each refused, before and after login: the socket
// is told 14009 and closed, the log gets a line or two instead of one a
// frame, and a good client from the same address is served right after.
func TestFrameFlood(t *testing.T) {
	base, _, logs := limitedServer(t, Limits{})
	for _, loggedIn := range []bool{false, true} {
		var ws *websocket.Conn
		if loggedIn {
			ws = joinAs(t, "127.0.0.1", base, "flooder").ws
		} else {
			var err error
			if ws, _, err = dialFrom("127.0.0.1", base, "flooder", "not-a-sig"); err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
		}
		before, start := logLines(logs), time.Now()
		go flood(ws, 20_000, "publish") // refused each: before join, or a bad offer
		expectBanned(t, ws)
		n := logLines(logs) - before
		t.Logf("logged in %v: a flood of up to 20,000 refused frames wrote %d log lines", loggedIn, n)
		if n > sampledLines(start) {
			t.Errorf("logged in %v: the flood wrote %d log lines:\n%s", loggedIn, n, logs)
		}
	}
	joinAs(t, "127.0.0.1", base, "good")
}

// A panic in a connection's goroutine ends that connection only; it is
// counted and the handler goes on serving.
func TestPanicEndsOnlyItsConnection(t *testing.T) {
	apps, _ := trtc.NewApps(trtc.App{SDKAppID: testApp, Key: testKey})
	mux := http.NewServeMux()
	(&Handler{Gate: &trtc.Gate{Apps: apps}, Logger: slog.New(slog.DiscardHandler)}).Register(mux) // no rooms: join panics
	srv := httptest.NewServer(mux)
	defer srv.Close()
	before := panics.Count(panics.WebSDK)
	c := dial(t, srv.URL, "alice", sig("alice"))
	c.send("join", map[string]any{"roomId": "1234"})
	c.ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			break // the connection ended
		}
	}
	if got := panics.Count(panics.WebSDK) - before; got != 1 {
		t.Fatalf("%v panics counted, want 1", got)
	}
	resp, err := http.Post(srv.URL+Prefix+"/api/v1/config", "text/plain", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the handler after the panic: %v %v", resp, err)
	}
	resp.Body.Close()
}
