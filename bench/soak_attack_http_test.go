package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// httpAttacks hit the HTTP listener: garbage, slowloris, a connection
// flood, and request floods on the endpoints that cost the server most
// (WHIP and WHEP offers, HTTP-FLV plays).
func httpAttacks(srv *soakServer, d time.Duration) []*attack {
	host := strings.TrimPrefix(srv.url, "http://")
	return []*attack{
		newAttack("HTTP", "garbage and malformed requests", fromHTTPJunk, func(ctx context.Context, a *attack) {
			runBounded(ctx, upTo(d, 20), 10, 50*time.Millisecond, func(ctx context.Context, i int) { httpGarbage(ctx, a, host, i) })
		}),
		newAttack("HTTP", "slowloris: headers a byte at a time", fromHTTPJunk, func(ctx context.Context, a *attack) {
			head := "GET /healthz HTTP/1.1\r\nHost: " + host + "\r\nX-Slow: "
			runBounded(ctx, upTo(d, 10), 30, 100*time.Millisecond, func(ctx context.Context, i int) { slowloris(ctx, a, host, head) })
		}),
		newAttack("HTTP", "slowloris: a WHIP offer's body a byte at a time", fromHTTPJunk, func(ctx context.Context, a *attack) {
			runBounded(ctx, upTo(d, 5), 10, 200*time.Millisecond, func(ctx context.Context, i int) {
				room, user := fmt.Sprint(soakAttackRooms+100), "slow-body"
				sig, _ := benchAuth(room, user)
				head := fmt.Sprintf("POST /whip/%d/%s/%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
					"Content-Type: application/sdp\r\nContent-Length: 100000\r\n\r\nv=0\r\n", benchApp, room, user, host, sig)
				slowloris(ctx, a, host, head)
			})
		}),
		newAttack("HTTP", "connection flood: 500 silent sockets, 8 s waves", fromConnFlood, connFlood(host, 500, 8*time.Second, d)),
		requestFlood("WHIP", "offer flood: garbage SDP, good, bad and no userSig", d, 16, whipFloodRequest(srv)),
		requestFlood("WHEP", "offer flood for an absent publisher", d, 16, whepFloodRequest(srv)),
		requestFlood("HTTP-FLV", "play flood for absent streams", d, 48, flvFloodRequest(srv)),
	}
}

// httpGarbage sends one malformed request and notes the answer.
func httpGarbage(ctx context.Context, a *attack, host string, i int) {
	c, ok := a.dial(ctx, host)
	if !ok {
		return
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write(garbageRequest(host, i)); err != nil {
		a.count("write: " + classify(err))
		return
	}
	a.count(firstAnswer(c))
}

// garbageRequest is the i-th of the malformed requests, in turn.
func garbageRequest(host string, i int) []byte {
	upgrade := "GET %s HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	switch i % 10 {
	case 0:
		return randomBytes(1 + rand.IntN(4096))
	case 1: // a request line past every header limit
		return []byte("GET /" + strings.Repeat("a", 70<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n")
	case 2: // a header past MaxHeaderBytes
		return []byte("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 70<<10) + "\r\n\r\n")
	case 3:
		return []byte(fmt.Sprintf("POST /whip/%d/1/u HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\nabc", benchApp))
	case 4:
		return []byte(fmt.Sprintf("POST /whip/%d/1/u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nabc\r\n", benchApp))
	case 5: // a WebSocket key that is not base64
		return []byte(strings.Replace(fmt.Sprintf(upgrade, "/ws"), "dGhlIHNhbXBsZSBub25jZQ==", "!!!", 1))
	case 6: // TLS on the plain port
		return append([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}, randomBytes(500)...)
	case 7:
		return []byte("GET /live/%2e%2e%2f%2e%2e%2fetc%2fpasswd.flv?userId=\x00 HTTP/1.1\r\nHost: x\r\n\r\n")
	case 8: // a good upgrade, then bytes that are no WebSocket frame
		return append([]byte(fmt.Sprintf(upgrade, "/ws")), randomBytes(2048)...)
	default:
		return append([]byte(fmt.Sprintf(upgrade, "/websdk?sdkAppId=1&userId=x&userSig=y")), randomBytes(2048)...)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}

// firstAnswer reads the status line of the server's answer, if any.
func firstAnswer(c net.Conn) string {
	line, err := bufio.NewReader(c).ReadString('\n')
	if strings.HasPrefix(line, "HTTP/1.1 ") && len(line) >= 12 {
		return "HTTP " + line[9:12]
	}
	if err != nil {
		return "closed with no answer" + suffix(classify(err))
	}
	return "an answer that is not HTTP"
}

// slowloris sends head, then one more byte every half second, until the
// server closes the socket (counted with how long it held it), the attack
// ends, or a minute passes.
func slowloris(ctx context.Context, a *attack, host, head string) {
	c, ok := a.dial(ctx, host)
	if !ok {
		return
	}
	defer c.Close()
	opened := time.Now()
	closed := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, c); closed <- err }()
	life, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c.Write([]byte(head))
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-closed:
			a.ended(ctx, classify(err), opened)
			return
		case <-life.Done():
			if ctx.Err() != nil {
				a.count("still open at the end")
			} else {
				a.count("still open after a minute")
			}
			return
		case <-tick.C:
			c.SetWriteDeadline(time.Now().Add(2 * time.Second))
			c.Write([]byte{'a'}) // a failure shows as the read ending
		}
	}
}

// connFlood opens perWave silent sockets as fast as it can, keeps them for
// hold, closes them and starts again, until ctx ends (a wave for every 8 s
// of d at most).
// A per-address connection cap shows as sockets the server closes at once.
func connFlood(addr string, perWave int, hold, d time.Duration) func(ctx context.Context, a *attack) {
	return func(ctx context.Context, a *attack) {
		for wave := 0; wave < upTo(d, 1.0/8) && ctx.Err() == nil; wave++ {
			wctx, cancel := context.WithTimeout(ctx, hold)
			runBounded(wctx, perWave, perWave, 2*time.Millisecond, func(wctx context.Context, i int) {
				c, ok := a.dial(wctx, addr)
				if !ok {
					return
				}
				opened := time.Now()
				defer c.Close()
				stop := context.AfterFunc(wctx, func() { c.Close() })
				defer stop()
				_, err := io.Copy(io.Discard, c)
				if wctx.Err() != nil {
					a.count("held until its wave ended")
					return
				}
				a.held(time.Since(opened))
				a.count("closed by server" + suffix(classify(err)))
			})
			cancel()
			sleepCtx(ctx, time.Second)
		}
	}
}

// requestFlood sends requests as fast as inFlight of them at once allow
// (one start every 10 ms at most: 100 a second), each bounded by 2 s, and
// counts the answers.
func requestFlood(listener, name string, d time.Duration, inFlight int, build func(i int) *http.Request) *attack {
	return newAttack(listener, name, fromReqFlood, func(ctx context.Context, a *attack) {
		client := a.httpClient(2 * time.Second)
		defer client.CloseIdleConnections()
		runBounded(ctx, upTo(d, 100), inFlight, 10*time.Millisecond, func(ctx context.Context, i int) {
			a.tries.Add(1)
			resp, err := client.Do(build(i).WithContext(ctx))
			if err != nil {
				if ctx.Err() == nil {
					a.count(classify(err))
				}
				return
			}
			_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			outcome := fmt.Sprintf("HTTP %d", resp.StatusCode)
			if classify(err) == "timeout" {
				outcome += ", held open until our 2 s timeout"
			}
			a.count(outcome)
		})
	})
}

// floodSDP is an offer no server can answer: sections without ICE or
// DTLS, a codec line with no codec.
const floodSDP = "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n" +
	"a=rtpmap:96 H264/90000\r\na=sendonly\r\nm=audio 0 RTP/AVP\r\na=fmtp:\r\n"

// whipFloodRequest: a quarter without a token, a quarter with a bad one,
// half with the flooder's real userSig; all with an offer that fails.
func whipFloodRequest(srv *soakServer) func(i int) *http.Request {
	return func(i int) *http.Request {
		room, user := fmt.Sprint(soakAttackRooms+200+i%10), "whip-flooder"
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/whip/%d/%s/%s", srv.url, benchApp, room, user), strings.NewReader(floodSDP))
		req.Header.Set("Content-Type", "application/sdp")
		switch i % 4 {
		case 0:
		case 1:
			req.Header.Set("Authorization", fmt.Sprintf("Bearer %x", randomBytes(40)))
		default:
			sig, _ := benchAuth(room, user)
			req.Header.Set("Authorization", "Bearer "+sig)
		}
		return req
	}
}

func whepFloodRequest(srv *soakServer) func(i int) *http.Request {
	return func(i int) *http.Request {
		room, user := fmt.Sprint(soakAttackRooms+200+i%10), "whep-flooder"
		sig, _ := benchAuth(room, user)
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/whep/%d/%s/nobody?userId=%s", srv.url, benchApp, room, user),
			strings.NewReader(floodSDP))
		req.Header.Set("Content-Type", "application/sdp")
		req.Header.Set("Authorization", "Bearer "+sig)
		return req
	}
}

// flvFloodRequest plays streams whose publisher is absent: two thirds as
// one viewer with a real userSig (what a viewer cap per user is for), a
// third with a bad one.
func flvFloodRequest(srv *soakServer) func(i int) *http.Request {
	return func(i int) *http.Request {
		room, viewer := fmt.Sprint(soakAttackRooms+200+i%10), "flv-flooder"
		sig, _ := benchAuth(room, viewer)
		if i%3 == 0 {
			sig = "bad" + sig[:20]
		}
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/live/%d_%s_nobody_main.flv?userId=%s&usersig=%s",
			srv.url, benchApp, room, viewer, url.QueryEscape(sig)), nil)
		return req
	}
}
