package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The hostile clients' addresses. The good rooms are on 127.0.0.1; each
// group of attackers has its own loopback address, so per-address limits
// fall on the attackers and never on the good clients, and a limit that
// works shows as refusals at that address alone.
const (
	fromHTTPJunk  = 2 // garbage requests, slowloris
	fromConnFlood = 3 // connection floods (HTTP, RTMP)
	fromReqFlood  = 4 // WHIP, WHEP, FLV request floods
	fromWS        = 5 // /ws: silent sockets, frame floods
	fromWebSDK    = 6 // /websdk: silent sockets, frame and POST floods
	fromRTMPJunk  = 7 // RTMP: garbage, slow and aborted handshakes, silent logins
	fromMutated   = 8 // authenticated pushers of mutated media, and their viewers
	fromUDP       = 9 // the media port: garbage datagrams, abandoned WebRTC sessions
)

func loopbackIP(n byte) net.IP { return net.IPv4(127, 0, 0, n) }

// soakAttackRooms numbers the rooms the hostile clients use.
const soakAttackRooms = 900000

// attack is one kind of hostile client. Its run is bounded in count and
// stops when ctx ends; what the server did to it is counted by outcome.
type attack struct {
	name     string
	listener string
	from     net.IP
	run      func(ctx context.Context, a *attack)

	tries atomic.Int64 // connections, requests or sessions tried
	sent  atomic.Int64 // frames, tags or datagrams, where it counts them
	mu    sync.Mutex
	// outcomes counts what happened to each try: "HTTP 429", "closed by
	// server", "reset", "still open at the end"...
	outcomes map[string]int
	// holds are how long the server kept sockets that it closed itself
	// (silent, slow or unauthenticated clients).
	holds []time.Duration
}

func newAttack(listener, name string, from byte, run func(ctx context.Context, a *attack)) *attack {
	return &attack{name: name, listener: listener, from: loopbackIP(from), run: run, outcomes: map[string]int{}}
}

func (a *attack) count(outcome string) {
	a.mu.Lock()
	a.outcomes[outcome]++
	a.mu.Unlock()
}

func (a *attack) held(d time.Duration) {
	a.mu.Lock()
	a.holds = append(a.holds, d)
	a.mu.Unlock()
}

// dialer connects from the attack's own address.
func (a *attack) dialer() *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: a.from}, Timeout: 5 * time.Second}
}

// dial opens a TCP connection from the attack's address, counting the try
// and a failure.
func (a *attack) dial(ctx context.Context, addr string) (net.Conn, bool) {
	a.tries.Add(1)
	c, err := a.dialer().DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() == nil {
			a.count("connect: " + classify(err))
		}
		return nil, false
	}
	return c, true
}

// httpClient sends requests from the attack's address, each bounded by
// timeout.
func (a *attack) httpClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: a.dialer().DialContext,
		MaxIdleConnsPerHost: 16, IdleConnTimeout: 5 * time.Second}}
}

// hold keeps c until the server closes it or ctx ends, discarding what it
// sends, and counts which came first; opened is when the socket opened.
func (a *attack) hold(ctx context.Context, c net.Conn, opened time.Time) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	_, err := io.Copy(io.Discard, c)
	a.ended(ctx, classify(err), opened)
}

// ended counts how a held socket ended: closed by the server (and how
// long it held it; reason says how), or still open when ctx ended.
func (a *attack) ended(ctx context.Context, reason string, opened time.Time) {
	if ctx.Err() != nil {
		a.count("still open at the end")
		return
	}
	a.held(time.Since(opened))
	a.count("closed by server" + suffix(reason))
}

func suffix(s string) string {
	if s == "" || s == "closed" {
		return ""
	}
	return " (" + s + ")"
}

// classify names an error by what the peer did.
func classify(err error) string {
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return "closed"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "closed mid-message"
	}
	return "error"
}

// upTo is an attack's count bound for d at perSecond tries a second, with
// room to spare: the time bound, not the count, normally ends it.
func upTo(d time.Duration, perSecond float64) int { return int(perSecond*d.Seconds()*1.5) + 10 }

// runBounded starts f(ctx, i) for i < n, one start every gap, at most
// inFlight at once, until ctx ends; it returns when every f has. It is
// every attack's loop: bounded in count by n, in time by ctx, in sockets
// by inFlight.
func runBounded(ctx context.Context, n, inFlight int, gap time.Duration, f func(ctx context.Context, i int)) {
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(ctx, i)
		}()
		if gap > 0 && !sleepCtx(ctx, gap) {
			return
		}
	}
}

// launch runs every attack until ctx ends; the channel closes when all
// have returned (their sockets closed).
func launch(ctx context.Context, attacks []*attack) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, a := range attacks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.run(ctx, a)
		}()
	}
	go func() { wg.Wait(); close(done) }()
	return done
}

// summary is one line of the report: what the attack did and what the
// server did about it.
func (a *attack) summary() (tries, outcomes, holds string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	tries = fmt.Sprint(a.tries.Load())
	if n := a.sent.Load(); n > 0 {
		tries += fmt.Sprintf(" (%d sent)", n)
	}
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range a.outcomes {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	var parts []string
	for i, x := range all {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("%d more kinds", len(all)-5))
			break
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", x.k, x.v))
	}
	outcomes = strings.Join(parts, ", ")
	if len(a.holds) > 0 {
		h := append([]time.Duration(nil), a.holds...)
		sort.Slice(h, func(i, j int) bool { return h[i] < h[j] })
		holds = fmt.Sprintf("%.1f / %.1f s", h[len(h)/2].Seconds(), h[len(h)-1].Seconds())
	}
	return tries, outcomes, holds
}
