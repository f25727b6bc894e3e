package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/live"
	"github.com/trtcd/trtcd/record"
	"github.com/trtcd/trtcd/rtmp"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
)

// Server is a running trtcd.
type Server struct {
	cfg     Config
	log     *slog.Logger
	started time.Time

	closers   []func() // of the components opened, in order
	closeOnce sync.Once

	rooms   *trtc.Registry
	gate    *trtc.Gate
	sfu     *sfu.SFU
	metrics *sfu.Metrics
	bframes prometheus.Counter
	db      *bolt.DB // the data directory's embedded database
	rec     *record.Recorder
	store   *classroom.Store
	classes *classroom.Classrooms
	live    *live.Server
	rtmp    *rtmp.Server
	rtmpLn  net.Listener
	http    *http.Server
	httpLn  net.Listener
	served  chan error
	https   *http.Server // nil without HTTPSAddr
	httpsLn net.Listener
	tlsDone chan error
	cluster atomic.Pointer[cluster.Node] // nil when single

	shutdownOnce sync.Once
	shutdownErr  error
}

// Start opens every component in order (components.go) and starts
// serving. It returns once the server accepts connections; when a
// component fails, those already open are closed and the error returned.
func Start(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Apps == nil || cfg.Apps.Len() == 0 {
		return nil, errors.New("server: no application configured")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, started: time.Now(), served: make(chan error, 1)}
	for _, c := range s.components() {
		if err := c.open(); err != nil {
			s.closeAll()
			return nil, err
		}
	}
	go func() { s.served <- s.serveForLife("http", s.http, s.httpLn) }()
	s.log.Info("http listening", "addr", s.httpLn.Addr().String(), "apps", cfg.Apps.Len())
	return s, nil
}

// serveForLife serves ln until Shutdown; http.Server retries failures that
// pass (out of descriptors), so any other return before Shutdown means the
// listener is dead while the process lives on, which must not go unseen.
func (s *Server) serveForLife(name string, srv *http.Server, ln net.Listener) error {
	err := srv.Serve(ln)
	if !errors.Is(err, http.ErrServerClosed) {
		s.log.Error(name+": stopped accepting connections", "err", err)
	}
	return err
}

// onClose registers how to close a component that has opened.
func (s *Server) onClose(close func()) { s.closers = append(s.closers, close) }

// closeAll closes the opened components in reverse order, once.
func (s *Server) closeAll() {
	s.closeOnce.Do(func() {
		for i := len(s.closers) - 1; i >= 0; i-- {
			s.closers[i]()
		}
	})
}

// Shutdown stops accepting, lets requests in flight finish until ctx ends,
// then closes everything. Later calls return the first one's result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.log.Info("shutting down")
	err := s.http.Shutdown(ctx)
	if serr := <-s.served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if s.https != nil {
		s.https.Shutdown(ctx)
	}
	s.closeAll()
	if err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// HTTPAddr is the address the HTTP listener is bound to.
func (s *Server) HTTPAddr() net.Addr { return s.httpLn.Addr() }

// HTTPSAddr is the address the TLS listener is bound to (nil when off).
func (s *Server) HTTPSAddr() net.Addr {
	if s.httpsLn == nil {
		return nil
	}
	return s.httpsLn.Addr()
}

// RTMPAddr is the address the RTMP listener is bound to (nil when off).
func (s *Server) RTMPAddr() net.Addr {
	if s.rtmpLn == nil {
		return nil
	}
	return s.rtmpLn.Addr()
}

// UDPAddr is the bound WebRTC media address.
func (s *Server) UDPAddr() string { return s.sfu.UDPAddr() }

// Media is the server's media plane: tests publish through it the
// streams no way in sends yet, as members of its rooms.
func (s *Server) Media() *sfu.SFU { return s.sfu }

// Cluster is the server's cluster node (nil when single).
func (s *Server) Cluster() *cluster.Node { return s.cluster.Load() }
