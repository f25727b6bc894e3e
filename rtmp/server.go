// Package rtmp is an RTMP server: handshake, chunk streams, AMF0 commands,
// publish and play. What a stream name means (rooms, auth) is left to a
// Handler implemented elsewhere; interfaces.go holds the Handler and the
// Publisher and TagWriter it deals in.
package rtmp

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/panics"
)

// Limits bound what one client can make the server do. Zero fields take the
// defaults in brackets.
type Limits struct {
	// ReadTimeout bounds each handshake read and the wait for the next
	// message [10s]; while playing, the wait is PingInterval longer.
	ReadTimeout time.Duration
	// WriteTimeout bounds each socket write [10s].
	WriteTimeout time.Duration
	// IdleTimeout is the longest a connection may stay open neither
	// publishing nor playing, e.g. a client that only pings after its
	// publish ended [30s].
	IdleTimeout time.Duration
	// LoginTimeout is the time from accept by which a client must have
	// completed the handshake and started a publish or play [10s]. It
	// bounds the total, so a socket that never sends a byte and one that
	// trickles a byte (or a ping) every few seconds are closed alike.
	LoginTimeout time.Duration
	// PingInterval: while a connection plays, the server sends it a User
	// Control PingRequest this often [15s]. A player sends little of its
	// own (nothing at all while it waits for a publisher), but every
	// player answers pings, so one that sends nothing for PingInterval +
	// ReadTimeout is gone and is closed, freeing its slot.
	PingInterval time.Duration
	// MaxMessageSize is the largest message accepted from a publisher
	// [4 MiB]; a 1080p keyframe is ~0.5 MiB. Larger ones close the
	// connection unallocated. Before its publish is admitted, and while
	// it only plays, a connection's messages are capped at 64 KiB.
	MaxMessageSize uint32
	// MaxConns caps concurrent connections to the whole server; extra ones
	// are closed at accept [1000].
	MaxConns int
	// PerAddress limits each client address (IPv6 per /64) across the
	// server's listeners: new connections per second and burst, and
	// connections held at once [50/s, burst 200, 500 connections, which
	// admits a school behind one NAT address]. A zero field takes its
	// default; a negative PerSecond or Connections turns that limit off.
	// Refused connections are closed at accept and counted in Refusals.
	PerAddress limit.Config
	// MaxChunkStreams caps chunk stream ids per connection [64]; clients
	// use fewer than 10.
	MaxChunkStreams int
	// MaxStreams caps createStream per connection [8].
	MaxStreams int
	// WriteQueue is the per-connection outgoing queue in messages [512,
	// ~7 s of 30 fps video with AAC]; a player that lets it fill is dropped.
	WriteQueue int
	// WriteQueueBytes bounds the same queue in bytes [8 MiB, seconds of a
	// 4 Mbit/s stream]: each queued picture is a copy, up to
	// MaxMessageSize, so a player reading just fast enough not to time out
	// could otherwise hold WriteQueue of the largest.
	WriteQueueBytes int
	// ReadKbps caps what one connection's reads take, averaged over a
	// second [20000, as a WebRTC publisher's track; negative: no cap].
	// Past it the server reads slower and TCP slows the pusher down: a
	// pusher that sends more than any camera would has its stream
	// forwarded to every viewer, on a worker other rooms share.
	ReadKbps int
}

// DefaultReadKbps is Limits.ReadKbps's default.
const DefaultReadKbps = 20000

func (l Limits) withDefaults() Limits {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.ReadTimeout, 10*time.Second)
	def(&l.WriteTimeout, 10*time.Second)
	def(&l.IdleTimeout, 30*time.Second)
	def(&l.LoginTimeout, 10*time.Second)
	def(&l.PingInterval, 15*time.Second)
	if l.MaxMessageSize == 0 {
		l.MaxMessageSize = 4 << 20
	}
	l.MaxMessageSize = min(l.MaxMessageSize, maxMessageLength) // the length field has 24 bits
	defInt(&l.MaxConns, 1000)
	defInt(&l.MaxChunkStreams, 64)
	defInt(&l.MaxStreams, 8)
	defInt(&l.WriteQueue, 512)
	defInt(&l.WriteQueueBytes, 8<<20)
	if l.ReadKbps == 0 {
		l.ReadKbps = DefaultReadKbps
	}
	l.PerAddress = l.PerAddress.Or(limit.Default)
	return l
}

// Server accepts RTMP connections. Set the fields, then call Serve; Close
// stops everything. The zero Limits are usable defaults.
type Server struct {
	Handler Handler
	Logger  *slog.Logger // slog.Default() when nil
	Limits  Limits

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closed    bool
	nextID    uint64
	wg        sync.WaitGroup
	perAddr   *limit.Gate // made on the first Serve, shared by every listener
	refusals  refusalCounter
}

// Serve accepts connections on ln until ln fails or Close is called; after
// Close it returns ErrClosed. It may be called for several listeners.
func (s *Server) Serve(ln net.Listener) error {
	limits := s.Limits.withDefaults()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
		s.conns = make(map[*conn]struct{})
		s.perAddr = limit.NewGate(limits.PerAddress)
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	log := s.logger()

	var backoff limit.Backoff
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrClosed
			}
			if !acceptWillPass(err) {
				return err
			}
			limit.AcceptRetries.WithLabelValues("rtmp").Inc()
			wait := backoff.Next()
			log.Warn("rtmp: accept failed, retrying", "err", err, "retry_in", wait)
			time.Sleep(wait)
			continue
		}
		backoff.Reset()
		s.admit(nc, limits, log)
	}
}

// acceptWillPass: out of file descriptors and the like (limit.AcceptWillPass),
// or a listener's deadline: wait and accept again, as net/http does, rather
// than stop serving RTMP for the rest of the process's life.
func acceptWillPass(err error) bool {
	var ne net.Error
	return limit.AcceptWillPass(err) || errors.As(err, &ne) && ne.Timeout()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// admit starts serving nc, or closes it at once when its address or the
// whole server is over a limit: a refused connection costs an accept and
// a close, nothing more.
func (s *Server) admit(nc net.Conn, limits Limits, log *slog.Logger) {
	remote := nc.RemoteAddr().String()
	leave, err := s.perAddr.Enter(remote)
	if err != nil {
		reason := refusedRate
		switch {
		case errors.Is(err, limit.ErrConnections):
			reason = refusedAddressConns
		case errors.Is(err, limit.ErrTotal): // limits.rtmp.total, beside MaxConns
			reason = refusedServerConns
		}
		s.refuse(nc, reason, log)
		return
	}
	s.mu.Lock()
	if s.closed || len(s.conns) >= limits.MaxConns {
		s.mu.Unlock()
		leave()
		s.refuse(nc, refusedServerConns, log)
		return
	}
	s.nextID++
	c := newConn(s, nc, limits, log.With("conn", s.nextID, "remote", remote))
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer s.forget(c, leave)
		// c.serve recovers its own panics; this one catches what its
		// cleanup might raise, so nothing a client does ends the process.
		defer panics.Recover(panics.RTMP, c.log)
		c.serve()
	}()
}

// forget gives a finished connection's places back.
func (s *Server) forget(c *conn, leave func()) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	leave()
}

// Close closes the listeners and every connection, and waits for their
// goroutines (including Handler.Play calls, which must return when their
// context ends).
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.shutdown()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}
