// Package rtmp is an RTMP server: handshake, chunk streams, AMF0 commands,
// publish and play. What a stream name means (rooms, auth) is left to a
// Handler implemented elsewhere.
package rtmp

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Limits bound what one client can make the server do. Zero fields take the
// defaults in brackets.
type Limits struct {
	// ReadTimeout bounds each handshake read and, outside of playing, the
	// wait for the next message [10s]. A player sends almost nothing, so
	// while it plays only WriteTimeout detects a dead peer.
	ReadTimeout time.Duration
	// WriteTimeout bounds each socket write [10s].
	WriteTimeout time.Duration
	// IdleTimeout is the longest a connection may stay open without
	// publishing or playing, e.g. a client that only pings [30s].
	IdleTimeout time.Duration
	// MaxMessageSize is the largest message accepted [4 MiB]; a 1080p
	// keyframe is ~0.5 MiB. Larger ones close the connection unallocated.
	MaxMessageSize uint32
	// MaxConns caps concurrent connections; extra ones are closed at
	// accept [1000].
	MaxConns int
	// MaxChunkStreams caps chunk stream ids per connection [64]; clients
	// use fewer than 10.
	MaxChunkStreams int
	// MaxStreams caps createStream per connection [8].
	MaxStreams int
	// WriteQueue is the per-connection outgoing queue in messages [512,
	// ~7 s of 30 fps video with AAC]; a player that lets it fill is dropped.
	WriteQueue int
}

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
	if l.MaxMessageSize == 0 {
		l.MaxMessageSize = 4 << 20
	}
	l.MaxMessageSize = min(l.MaxMessageSize, maxMessageLength) // the length field has 24 bits
	defInt(&l.MaxConns, 1000)
	defInt(&l.MaxChunkStreams, 64)
	defInt(&l.MaxStreams, 8)
	defInt(&l.WriteQueue, 512)
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
}

// Serve accepts connections on ln until ln fails or Close is called; after
// Close it returns ErrClosed. It may be called for several listeners.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
		s.conns = make(map[*conn]struct{})
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	limits := s.Limits.withDefaults()
	log := s.logger()

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: wait, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				log.Info("rtmp: accept", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.mu.Lock()
		if s.closed || len(s.conns) >= limits.MaxConns {
			n := len(s.conns)
			s.mu.Unlock()
			log.Info("rtmp: refusing connection", "remote", nc.RemoteAddr().String(), "conns", n, "max", limits.MaxConns)
			nc.Close()
			continue
		}
		s.nextID++
		c := newConn(s, nc, limits, log.With("conn", s.nextID, "remote", nc.RemoteAddr().String()))
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
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
