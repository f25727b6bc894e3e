// Package ws serves trtcd's own signalling protocol over a WebSocket at
// /ws (docs/protocol.md): a client joins a room, publishes and subscribes
// with SDP offers, and is pushed the room's events; a signed-in client
// also creates, joins and messages TIC's classrooms (docs/classroom.md).
// Every join and login goes through the room core's gate.
package ws

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/internal/wsconn"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
)

// Limits bound what one WebSocket client can do. A zero field takes its
// default, in brackets; a negative JoinsPerSecondIP or ConnectionsPerIP
// turns that limit off.
type Limits struct {
	MaxMessageBytes   int64   // larger frames close the connection [64 KiB]
	MessagesPerSecond float64 // sustained rate per connection [20]
	MessageBurst      int     // short bursts above the rate [40]
	// JoinsPerSecondIP and JoinBurstIP ration new connections per address
	// (IPv6 per /64) [50/s, burst 200: a school behind one NAT address
	// joins 200 within 2 s]; ConnectionsPerIP caps those it holds at once
	// [500]. Over them: HTTP 429, code 14009.
	JoinsPerSecondIP float64
	JoinBurstIP      int
	ConnectionsPerIP int
	// Connections caps the sockets held from all addresses [none beyond
	// the HTTP listener's total].
	Connections int
	IdleTimeout time.Duration // no frame at all for this long closes [60s]
	// LoginTimeout closes a socket that has not logged in (login or join)
	// this long after it opened, with code 14005 [10s]: an unauthenticated
	// socket costs memory and goroutines and must not stay.
	LoginTimeout time.Duration
	// MaxQueuedBytes bounds the frames waiting for a client that reads
	// slowly [4 MiB; 64 KiB at most before login]; past it the client gets
	// code 14009 and is closed.
	MaxQueuedBytes int
}

// DefaultLimits suit TRTC clients: an SDP is a few KiB, a heartbeat every
// few seconds, a handful of requests at join.
var DefaultLimits = Limits{
	MaxMessageBytes: 64 << 10, MessagesPerSecond: 20, MessageBurst: 40,
	JoinsPerSecondIP: wayin.DefaultAddressLimits.PerSecond, JoinBurstIP: wayin.DefaultAddressLimits.Burst,
	ConnectionsPerIP: wayin.DefaultAddressLimits.Connections,
	IdleTimeout:      60 * time.Second, LoginTimeout: 10 * time.Second, MaxQueuedBytes: 4 << 20,
}

// withDefaults fills the fields left zero.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	l.MaxMessageBytes = orDefault(l.MaxMessageBytes, d.MaxMessageBytes)
	l.MessagesPerSecond = orDefault(l.MessagesPerSecond, d.MessagesPerSecond)
	l.MessageBurst = orDefault(l.MessageBurst, d.MessageBurst)
	perAddress := l.perAddress().Or(d.perAddress())
	l.JoinsPerSecondIP, l.JoinBurstIP, l.ConnectionsPerIP = perAddress.PerSecond, perAddress.Burst, perAddress.Connections
	l.Connections = perAddress.Total
	l.IdleTimeout = orDefault(l.IdleTimeout, d.IdleTimeout)
	l.LoginTimeout = orDefault(l.LoginTimeout, d.LoginTimeout)
	l.MaxQueuedBytes = orDefault(l.MaxQueuedBytes, d.MaxQueuedBytes)
	return l
}

func (l Limits) perAddress() limit.Config {
	return limit.Config{PerSecond: l.JoinsPerSecondIP, Burst: l.JoinBurstIP, Connections: l.ConnectionsPerIP,
		Total: l.Connections}
}

// orDefault is v, or def when v is not set (zero or negative).
func orDefault[T ~int | ~int64 | ~float64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Server serves the trtcd signalling protocol at /ws.
type Server struct {
	Gate    *trtc.Gate
	SFU     *sfu.SFU
	Bitrate wayin.BitrateLimits
	Limits  Limits
	// Recorder records publishers that joined with a recordId (nil: none).
	Recorder trtc.Recorder
	// Classrooms serves TIC's classrooms and messages (nil: refused).
	Classrooms *classroom.Classrooms
	Logger     *slog.Logger

	once     sync.Once
	upgrader websocket.Upgrader
	limits   Limits // Limits with the defaults filled in
	perIP    *limit.Gate
	// negotiation bounds a publish or subscribe (negotiationTimeout when
	// zero; the fuzzer shortens it).
	negotiation time.Duration
}

// negotiationTimeout bounds one offer/answer.
const negotiationTimeout = 10 * time.Second

// Register serves the protocol at GET /ws on mux.
func (s *Server) Register(mux *http.ServeMux) { mux.Handle("GET /ws", s) }

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

func (s *Server) init() {
	s.once.Do(func() {
		s.upgrader.CheckOrigin = func(*http.Request) bool { return true } // tokens, not cookies, authenticate
		s.limits = s.Limits.withDefaults()
		pa := s.limits.perAddress()
		pa.Name = "ws" // refusals count in trtcd_refused_total{listener="ws"}
		s.perIP = limit.NewGate(pa)
	})
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.init()
	leave, err := s.perIP.Enter(r.RemoteAddr)
	if err != nil {
		wayin.RefuseAddress(w, err)
		return
	}
	socket, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		leave()
		return // the upgrader answered
	}
	c := s.newConn(socket)
	c.release = leave
	socket.SetReadLimit(s.limits.MaxMessageBytes)
	socket.SetPongHandler(func(string) error { // a client answering pings is not idle
		return socket.SetReadDeadline(c.readDeadline())
	})
	go c.writeLoop()
	c.readLoop()
}

// newConn makes a client's state; socket is nil for a connection driven
// in-process (the fuzzer's), which then has no write loop.
func (s *Server) newConn(socket *websocket.Conn) *conn {
	s.init()
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{srv: s, socket: socket, done: make(chan struct{}), ctx: ctx, cancel: cancel,
		limiter: rate.NewLimiter(rate.Limit(s.limits.MessagesPerSecond), s.limits.MessageBurst),
		loginBy: time.Now().Add(s.limits.LoginTimeout),
		log:     s.logger()}
	c.out = wsconn.New(socket, wsconn.Config{MaxBytes: min(s.limits.MaxQueuedBytes, preLoginQueueBytes),
		Ping: s.limits.IdleTimeout / 3, HalfClose: true, Close: c.close})
	return c
}

// preLoginQueueBytes bounds the send queue of a socket that has not
// logged in: it gets only a few short replies, and one that sends without
// reading must not hold more (500 sockets from one address: 32 MiB).
const preLoginQueueBytes = 64 << 10
