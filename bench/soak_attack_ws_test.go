package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// wsAttacks hit the two WebSocket endpoints, /ws (trtcd's signalling) and
// /websdk (the official Web SDK's): sockets that never log in, frame
// floods before login, a member with a real userSig flooding frames, and
// the Web SDK's schedule and log POSTs with junk.
func wsAttacks(srv *soakServer, d time.Duration) []*attack {
	base := "ws" + strings.TrimPrefix(srv.url, "http")
	sdk := fmt.Sprintf("%s/websdk?sdkAppId=%d&userId=%%s&userSig=junk", base, benchApp)
	return []*attack{
		newAttack("/ws", "sockets that never log in, 200 at once", fromWS, silentSockets(base+"/ws", d)),
		newAttack("/ws", "frame flood before login, 300 a second: junk, unknown types, 60 KB frames", fromWS,
			frameFlood(func(int) string { return base + "/ws" }, wsJunkFrame, d)),
		newAttack("/ws", "frame flood, 300 a second, from a member with a valid userSig", fromWS, memberFlood(base+"/ws", d)),
		newAttack("/websdk", "sockets that never log in, 200 at once", fromWebSDK,
			silentSocketsAt(func(i int) string { return fmt.Sprintf(sdk, fmt.Sprint("idle-", i)) }, d)),
		newAttack("/websdk", "frame flood before login, 300 a second: junk, commands before join, 60 KB frames", fromWebSDK,
			frameFlood(func(i int) string { return fmt.Sprintf(sdk, fmt.Sprint("flood-", i)) }, websdkJunkFrame, d)),
		newAttack("/websdk", "schedule and log POST flood with junk bodies", fromWebSDK, websdkPostFlood(srv, d)),
	}
}

// wsDial opens a WebSocket from the attack's address.
func (a *attack) wsDial(ctx context.Context, u string) (*websocket.Conn, bool) {
	d := websocket.Dialer{NetDialContext: a.dialer().DialContext, HandshakeTimeout: 5 * time.Second}
	a.tries.Add(1)
	c, resp, err := d.DialContext(ctx, u, nil)
	if err != nil {
		switch {
		case ctx.Err() != nil:
		case resp != nil:
			a.count(fmt.Sprintf("upgrade refused: HTTP %d", resp.StatusCode))
		default:
			a.count("upgrade: " + classify(err))
		}
		return nil, false
	}
	return c, true
}

// readWS reads and drops what the server sends until the socket ends;
// ctx ending closes it.
func readWS(ctx context.Context, c *websocket.Conn) error {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return err
		}
	}
}

func wsReason(err error) string {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("close code %d", ce.Code)
	}
	return classify(err)
}

func silentSockets(u string, d time.Duration) func(ctx context.Context, a *attack) {
	return silentSocketsAt(func(int) string { return u }, d)
}

// silentSocketsAt keeps 200 sockets open that send nothing at all,
// opening 50 a second at most: a login deadline closes them; without one
// they stay until the attack ends.
func silentSocketsAt(u func(i int) string, d time.Duration) func(ctx context.Context, a *attack) {
	return func(ctx context.Context, a *attack) {
		runBounded(ctx, upTo(d, 50), 200, 20*time.Millisecond, func(ctx context.Context, i int) {
			if c, ok := a.wsDial(ctx, u(i)); ok {
				opened := time.Now()
				a.ended(ctx, wsReason(readWS(ctx, c)), opened)
			}
		})
	}
}

// frameFlood runs two sockets at a time that send 300 frames a second for
// up to 30 s each, and counts whether the server closed them.
func frameFlood(u func(i int) string, frame func(i int) (int, []byte), d time.Duration) func(ctx context.Context, a *attack) {
	return func(ctx context.Context, a *attack) {
		runBounded(ctx, upTo(d, 10), 2, 100*time.Millisecond, func(ctx context.Context, i int) {
			if c, ok := a.wsDial(ctx, u(i)); ok {
				a.flood(ctx, c, frame)
			}
		})
	}
}

// flood writes frames to c, 3 every 10 ms, until the server closes it,
// ctx ends or 30 s pass.
func (a *attack) flood(ctx context.Context, c *websocket.Conn, frame func(i int) (int, []byte)) {
	opened := time.Now()
	life, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	read := make(chan error, 1)
	go func() { read <- readWS(life, c) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; {
		select {
		case err := <-read:
			if life.Err() == nil {
				a.held(time.Since(opened))
				a.count("closed by server" + suffix(wsReason(err)))
			} else if ctx.Err() == nil {
				a.count("still open after 30 s of flooding")
			} else {
				a.count("still open at the end")
			}
			return
		case <-tick.C:
		}
		for range 3 {
			typ, b := frame(n)
			n++
			c.SetWriteDeadline(time.Now().Add(2 * time.Second))
			if c.WriteMessage(typ, b) != nil {
				break // the read side sees the close
			}
			a.sent.Add(1)
		}
	}
}

// memberFlood joins /ws with a valid userSig, then floods frames: the
// message rate limit is for a member, not for a stranger.
func memberFlood(u string, d time.Duration) func(ctx context.Context, a *attack) {
	return func(ctx context.Context, a *attack) {
		room, user := soakAttackRooms+300, "ws-flooder"
		sig, _ := benchAuth(fmt.Sprint(room), user)
		join, _ := json.Marshal(map[string]any{"id": 1, "type": "join",
			"data": map[string]any{"sdkAppId": benchApp, "userId": user, "userSig": sig, "roomId": room}})
		runBounded(ctx, upTo(d, 2), 1, 500*time.Millisecond, func(ctx context.Context, i int) {
			c, ok := a.wsDial(ctx, u)
			if !ok {
				return
			}
			if c.WriteMessage(websocket.TextMessage, join) != nil {
				c.Close()
				a.count("join not sent")
				return
			}
			a.flood(ctx, c, memberFrame)
		})
	}
}

// memberFrame: heartbeats, a request the server knows but that fails,
// unknown types, chat-size messages.
func memberFrame(i int) (int, []byte) {
	id := 1000 + i
	switch i % 4 {
	case 0:
		return websocket.TextMessage, []byte(fmt.Sprintf(`{"id":%d,"type":"heartbeat"}`, id))
	case 1:
		return websocket.TextMessage, []byte(fmt.Sprintf(`{"id":%d,"type":"subscribe","data":{"userId":"nobody","sdp":"x"}}`, id))
	case 2:
		return websocket.TextMessage, []byte(fmt.Sprintf(`{"id":%d,"type":"no-such-type-%d"}`, id, i))
	default:
		return websocket.TextMessage, []byte(fmt.Sprintf(`{"id":%d,"type":"message","data":{"text":"%s"}}`, id, strings.Repeat("m", 4000)))
	}
}

// wsJunkFrame is the i-th junk frame for /ws before login.
func wsJunkFrame(i int) (int, []byte) {
	switch i % 8 {
	case 0:
		return websocket.TextMessage, []byte(fmt.Sprintf(`{"id":%d,"type":"publish","data":{"sdp":"v=0"}}`, i))
	case 1:
		return websocket.TextMessage, []byte(`not json {{{`)
	case 2:
		return websocket.TextMessage, []byte(fmt.Sprintf(`{"id":%d,"type":"%x"}`, i, rand.Uint64()))
	case 3:
		return websocket.BinaryMessage, randomBytes(100)
	case 4:
		return websocket.TextMessage, []byte(`{"id":1,"type":"message","data":{"text":"` + strings.Repeat("x", 60<<10) + `"}}`)
	case 5:
		return websocket.TextMessage, []byte(fmt.Sprintf(`{"id":%d,"type":"join","data":{"sdkAppId":%d,"userId":"x","userSig":"bad","roomId":1}}`, i, benchApp))
	case 6:
		return websocket.TextMessage, []byte(`{"id":1e999,"type":5,"data":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}`)
	default:
		return websocket.TextMessage, []byte(`null`)
	}
}

// websdkJunkFrame is the i-th junk frame for /websdk before login.
func websdkJunkFrame(i int) (int, []byte) {
	switch i % 8 {
	case 0:
		return websocket.TextMessage, []byte(fmt.Sprintf(`{"cmd":"join","seq":%d,"data":{"roomId":1,"role":"anchor"}}`, i))
	case 1:
		return websocket.TextMessage, []byte(fmt.Sprintf(`{"cmd":"publish","seq":%d,"data":{"sdp":"v=0"}}`, i))
	case 2:
		return websocket.TextMessage, []byte(fmt.Sprintf(`{"cmd":"%x","seq":%d}`, rand.Uint64(), i))
	case 3:
		return websocket.BinaryMessage, randomBytes(100)
	case 4:
		return websocket.TextMessage, []byte(`{"cmd":"quality_report","data":{"x":"` + strings.Repeat("q", 60<<10) + `"}}`)
	case 5:
		return websocket.TextMessage, []byte(`{"cmd":"get_user_list","data":[1,2,3]}`)
	case 6:
		return websocket.TextMessage, []byte(`{"cmd":` + strings.Repeat("[", 2000))
	default:
		return websocket.TextMessage, []byte(fmt.Sprintf(`{"cmd":"start_mcu_mix","seq":%d}`, i))
	}
}

// websdkPostFlood posts junk to the Web SDK's schedule and log endpoints,
// 50 a second.
func websdkPostFlood(srv *soakServer, d time.Duration) func(ctx context.Context, a *attack) {
	return func(ctx context.Context, a *attack) {
		client := a.httpClient(2 * time.Second)
		defer client.CloseIdleConnections()
		runBounded(ctx, upTo(d, 50), 8, 20*time.Millisecond, func(ctx context.Context, i int) {
			path := "/websdk/api/v1/config"
			if i%2 == 1 {
				path = "/websdk/v5/AVQualityReportSvc/C2S"
			}
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.url+path, strings.NewReader(string(randomBytes(1+rand.IntN(8<<10)))))
			a.tries.Add(1)
			resp, err := client.Do(req)
			if err != nil {
				if ctx.Err() == nil {
					a.count(classify(err))
				}
				return
			}
			resp.Body.Close()
			a.count(fmt.Sprintf("HTTP %d", resp.StatusCode))
		})
	}
}
