package websdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// A join with a valid userSig that the room refuses (a full 1v1 room) does
// not log the socket in: it stays on the login deadline and is closed at
// it with 14009, as a socket that never joined.
func TestRefusedJoinKeepsTheLoginDeadline(t *testing.T) {
	base, h, _ := limitedServer(t, Limits{LoginTimeout: time.Second})
	fillRoom(t, h.Gate, 1234, "1v1", 2)
	ws, resp, err := dialFrom("127.0.0.1", base, "third", sig("third"))
	if err != nil {
		t.Fatalf("%v %v", err, refusal(resp, err))
	}
	defer ws.Close()
	c := &sdkClient{t: t, ws: ws}
	if f := c.join("1234", false, ""); f.Code != int(trtc.CodeRoomFull) {
		t.Fatalf("a join to a full room: %d %s", f.Code, f.Message)
	}
	ws.SetReadDeadline(time.Now().Add(30 * time.Second)) // a safety net: the login deadline is 1 s
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || !strings.HasPrefix(ce.Text, "14009 ") {
			t.Fatalf("the refused socket ended with %v, want a close 1008 with 14009 at the login deadline", err)
		}
		return
	}
}

// A member that does not read while the server has frames for it is told
// 9 with 14009 and closed once MaxQueuedBytes wait for it.
func TestSlowReaderIsClosed(t *testing.T) {
	base, h := smallBufferServer(t, Limits{MaxQueuedBytes: 64 << 10, MessagesPerSecond: -1})
	fillRoom(t, h.Gate, 1234, "", 200) // each user list is about 16 KB
	c := &sdkClient{t: t, ws: dialSmallReadBuffer(t, base, "slow")}
	if f := c.join("1234", false, ""); f.Code != 0 {
		t.Fatalf("join: %d %s", f.Code, f.Message)
	}
	const requests = 100 // about 1.6 MB of user lists
	for range requests {
		c.send("get_user_list", struct{}{})
	}
	expectTooSlow(t, c.ws, requests)
}

// expectTooSlow reads what a slow member gets: fewer user lists than it
// asked for, then 9 with 14009 and a normal close with 14009.
func expectTooSlow(t *testing.T, ws *websocket.Conn, requests int) {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	lists, banned := 0, false
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !banned || !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure || !strings.HasPrefix(ce.Text, "14009 ") {
				t.Fatalf("after %d user lists the socket ended with %v (9 seen: %v), want 9 then a close with 14009", lists, err, banned)
			}
			return
		}
		var f frame
		json.Unmarshal(b, &f)
		switch f.Cmd {
		case cmdUserListResult:
			if lists++; lists == requests {
				t.Fatalf("all %d user lists were queued for a client that does not read", requests)
			}
		case cmdClientBanned:
			if f.Code != int(trtc.CodeRateLimited) || !strings.Contains(f.Message, "reads too slowly") {
				t.Fatalf("a slow client was told %s", b)
			}
			banned = true
		}
	}
}

// fillRoom puts members (with long ids) in a room, in process.
func fillRoom(t *testing.T, gate *trtc.Gate, room uint32, template string, members int) {
	t.Helper()
	for i := range members {
		user := fmt.Sprintf("member-%03d-%s", i, strings.Repeat("m", 20))
		if _, e := gate.Admit(context.Background(), trtc.Request{Intent: trtc.Enter, Template: template, Peer: quietPeer{},
			Credentials: trtc.Credentials{SDKAppID: testApp, UserID: user, UserSig: sig(user), Room: tlssig.Room{ID: room}}}); e != nil {
			t.Fatal(e)
		}
	}
}

type quietPeer struct{}

func (quietPeer) Notify(trtc.Event) {}
func (quietPeer) Kick(*trtc.Error)  {}

// smallBufferServer is limitedServer whose sockets have a small kernel
// send buffer, so that frames for a client that does not read soon wait
// in the socket's queue.
func smallBufferServer(t *testing.T, limits Limits) (string, *Handler) {
	t.Helper()
	apps, err := trtc.NewApps(trtc.App{SDKAppID: testApp, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	rooms := trtc.NewRegistry(1000, time.Hour)
	t.Cleanup(rooms.Close)
	h := &Handler{Gate: &trtc.Gate{Apps: apps, Rooms: rooms}, Limits: limits, Logger: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = smallSendBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, h
}

type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tcp, ok := c.(*net.TCPConn); ok {
		tcp.SetWriteBuffer(8 << 10)
	}
	return c, err
}

// dialSmallReadBuffer opens a signalling socket with a small kernel
// receive buffer.
func dialSmallReadBuffer(t *testing.T, base, user string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			c.(*net.TCPConn).SetReadBuffer(64 << 10)
		}
		return c, err
	}}
	q := url.Values{"sdkAppId": {strconv.Itoa(testApp)}, "userId": {user}, "userSig": {sig(user)}}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+Prefix+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}
