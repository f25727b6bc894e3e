// Package limit holds the per-address limits that every listener applies:
// a rate of new requests or connections with a burst, and a cap on the
// connections one address holds at once. IPv6 clients are counted per /64,
// the block one subscriber usually gets, so rotating addresses inside it
// buys nothing.
package limit

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Config is one listener's per-address limits. A zero field is no limit.
type Config struct {
	PerSecond   float64 // new requests or connections per second
	Burst       int     // allowed at once above the rate
	Connections int     // held open at once
	// Total caps the connections held at once from all addresses, so
	// that many addresses together cannot take every file descriptor.
	Total int
	// Name, when set, counts this gate's refusals in
	// trtcd_refused_total{listener=Name}.
	Name string
}

// Refused counts refusals by listener and reason; the server registers it.
var Refused = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "trtcd_refused_total",
	Help: "Requests and connections refused by a limit, by listener and reason (rate, connections: of one address; total: of all addresses).",
}, []string{"listener", "reason"})

// Default is every listener's per-address limit: a school behind one NAT
// address starts 200 joins within 2 s (the burst), 50 more every second,
// and holds 500 connections.
var Default = Config{PerSecond: 50, Burst: 200, Connections: 500}

// Or fills c's zero fields (and an empty Name) from def. A negative field
// stays: the gate reads it as no limit, which is how an operator turns one
// off.
func (c Config) Or(def Config) Config {
	if c.PerSecond == 0 {
		c.PerSecond = def.PerSecond
	}
	if c.Burst == 0 {
		c.Burst = def.Burst
	}
	if c.Connections == 0 {
		c.Connections = def.Connections
	}
	if c.Total == 0 {
		c.Total = def.Total
	}
	if c.Name == "" {
		c.Name = def.Name
	}
	return c
}

// The refusals a Gate gives; listeners turn them into their protocol's
// answer (HTTP 429, an RTMP close, a WebSocket close) with TRTC code 14009.
var (
	ErrRate        = errors.New("too many requests from this address")
	ErrConnections = errors.New("too many connections from this address")
	ErrTotal       = errors.New("too many connections from all addresses: the server is full")
)

// maxTracked: past this many addresses, idle entries are dropped, so a
// spray of sources cannot grow the tables without bound.
const maxTracked = 100_000

// Gate applies one Config to every address.
type Gate struct {
	cfg   Config
	mu    sync.Mutex
	rates map[string]*rate.Limiter
	conns map[string]int
	total int // connections held, from all addresses
}

// NewGate returns a gate for cfg.
func NewGate(cfg Config) *Gate {
	return &Gate{cfg: cfg, rates: map[string]*rate.Limiter{}, conns: map[string]int{}}
}

// Allow takes one request from addr's rate (a one-shot request such as a
// WHIP offer).
func (g *Gate) Allow(addr string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.allow(Key(addr))
}

// AllowKey is Allow for a key that is not an address's, or one counted
// whole (an address with its port): it is used as given.
func (g *Gate) AllowKey(key string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.allow(key)
}

// Enter admits a connection from addr against the rate and the connection
// caps; leave, called once when the connection ends, gives its place back.
func (g *Gate) Enter(addr string) (leave func(), err error) {
	key := Key(addr)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.allow(key); err != nil {
		return nil, err
	}
	if g.cfg.Connections > 0 && g.conns[key] >= g.cfg.Connections {
		g.count("connections")
		return nil, ErrConnections
	}
	if g.cfg.Total > 0 && g.total >= g.cfg.Total {
		g.count("total")
		return nil, ErrTotal
	}
	g.conns[key]++
	g.total++
	var once sync.Once
	return func() { once.Do(func() { g.leave(key) }) }, nil
}

func (g *Gate) leave(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.total--
	if g.conns[key]--; g.conns[key] <= 0 {
		delete(g.conns, key)
	}
}

// Connections is how many connections addr's key holds now.
func (g *Gate) Connections(addr string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.conns[Key(addr)]
}

func (g *Gate) allow(key string) error {
	if g.cfg.PerSecond <= 0 {
		return nil
	}
	lim := g.rates[key]
	if lim == nil {
		if len(g.rates) >= maxTracked {
			g.sweep()
		}
		lim = rate.NewLimiter(rate.Limit(g.cfg.PerSecond), max(g.cfg.Burst, 1))
		g.rates[key] = lim
	}
	if !lim.Allow() {
		g.count("rate")
		return ErrRate
	}
	return nil
}

func (g *Gate) count(reason string) {
	if g.cfg.Name != "" {
		Refused.WithLabelValues(g.cfg.Name, reason).Inc()
	}
}

// sweep forgets addresses whose bucket has refilled: they have been quiet
// long enough that a fresh limiter treats them the same.
func (g *Gate) sweep() {
	now := time.Now()
	for k, lim := range g.rates {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(g.rates, k)
		}
	}
	// All busy (a spray of sources): forget a tenth, chosen at random by
	// map order. A forgotten address gets a fresh burst, which bounds what
	// the spray gains; resetting every bucket would hand it to everyone.
	for k := range g.rates {
		if len(g.rates) < maxTracked*9/10 {
			break
		}
		delete(g.rates, k)
	}
}

// Key is the address a limit counts: the host of a host:port, and for IPv6
// its /64 prefix.
func Key(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.WithZone("").Prefix(64)
	return p.String()
}
