package server

import (
	"cmp"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/restapi"
	"github.com/trtcd/trtcd/web"
	"github.com/trtcd/trtcd/websdk"
	"github.com/trtcd/trtcd/whip"
	"github.com/trtcd/trtcd/ws"
)

// openRoutes builds the HTTP server: every way in on one mux.
func (s *Server) openRoutes() error {
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry(), promhttp.HandlerOpts{}))
	if s.cfg.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	l := s.cfg.Limits
	(&whip.Server{Gate: s.gate, SFU: s.sfu, Bitrate: s.cfg.Bitrate, Recorder: recorder{s.rec}, Logger: s.log,
		WHIPLimits: l.WHIP, WHEPLimits: l.WHEP}).Register(mux)
	s.live.Register(mux)
	if s.rtmpLn != nil {
		(&restapi.RoomSig{Gate: s.gate, RTMPPort: s.rtmpLn.Addr().(*net.TCPAddr).Port, Limits: l.REST}).Register(mux)
	}
	(&restapi.Server{Gate: s.gate, Classrooms: s.classes, Limits: l.REST}).Register(mux)
	(&restapi.Records{Gate: s.gate, Recorder: s.rec, Limits: l.REST}).Register(mux)
	web.Register(mux, s.cfg.DevApp)
	(&websdk.Handler{Gate: s.gate, SFU: s.sfu, Bitrate: s.cfg.Bitrate, Logger: s.log,
		Limits: s.websdkLimits()}).Register(mux)
	mux.Handle("GET /ws", &ws.Server{Gate: s.gate, SFU: s.sfu, Bitrate: s.cfg.Bitrate,
		Limits: s.wsLimits(), Recorder: recorder{s.rec}, Classrooms: s.classes, Logger: s.log})
	return mux
}

// openHTTPS opens the TLS listener, when configured, serving the HTTP
// listener's routes.
func (s *Server) openHTTPS() error {
	if s.cfg.HTTPSAddr == "" {
		return nil
	}
	cert, err := s.certificate()
	if err != nil {
		return fmt.Errorf("server: tls certificate: %w", err)
	}
	ln, err := s.listenHTTP(s.cfg.HTTPSAddr)
	if err != nil {
		return fmt.Errorf("server: listen https %s: %w", s.cfg.HTTPSAddr, err)
	}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.https = &http.Server{ // the same routes and limits
		Handler: s.http.Handler, TLSConfig: tlsCfg,
		ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout,
		IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes, ErrorLog: s.http.ErrorLog,
	}
	s.httpsLn, s.tlsDone = ln, make(chan error, 1)
	go func() { s.tlsDone <- s.serveForLife("https", s.https, tls.NewListener(ln, tlsCfg)) }()
	s.onClose(func() {
		s.https.Close()
		<-s.tlsDone
	})
	s.log.Info("https listening", "addr", ln.Addr().String())
	return nil
}

// certificate is the configured one, or a self-signed development one.
func (s *Server) certificate() (tls.Certificate, error) {
	if s.cfg.TLSCert != "" || s.cfg.TLSKey != "" {
		return tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
	}
	s.log.Warn("https uses a self-signed development certificate; set tls_cert and tls_key for production")
	return websdk.SelfSigned(s.cfg.DataDir)
}

// listenHTTP opens an HTTP listener whose connections are counted per
// address and in all; a refused one is closed before a byte is read.
func (s *Server) listenHTTP(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l := s.cfg.Limits
	cfg := limit.Config{ // a negative cap is no limit
		Connections: cmp.Or(l.HTTPConnections, defaultHTTPConnections),
		Total:       cmp.Or(l.HTTPTotal, defaultHTTPTotal),
		Name:        "http",
	}
	return limit.NewGate(cfg).Listener(ln, nil), nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"status":         "ok",
		"version":        s.cfg.Version,
		"uptime_seconds": int64(time.Since(s.started).Seconds()),
	})
}
