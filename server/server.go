// Package server assembles a running trtcd: it owns the listeners, wires the
// planes together and shuts them down in order. Each later component (SFU,
// signalling, RTMP, recorder) is started and stopped here.
package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	bolt "go.etcd.io/bbolt"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/record"
	"github.com/trtcd/trtcd/rtmp"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/web"
	"github.com/trtcd/trtcd/websdk"
)

// Config is everything a server needs; cmd/trtcd fills it from the config
// file, the environment and flags.
type Config struct {
	HTTPAddr string // host:port of the HTTP listener (port 0 picks one)
	DataDir  string
	Apps     *trtc.Apps
	Media    sfu.TransportConfig
	// RTMPAddr is the RTMP listener for live-pusher and live-player
	// (host:port; "" leaves RTMP off).
	RTMPAddr string
	// Record configures recording (files under DataDir/record).
	Record RecordConfig
	// ClassLimits bound classroom messages (zero: the defaults).
	ClassLimits trtc.ClassLimits
	Bitrate     trtc.BitrateLimits
	// RoomCapacity is the member limit of rooms without a 1v1 template
	// (0: the default); HeartbeatTimeout removes silent members.
	RoomCapacity     int
	HeartbeatTimeout time.Duration
	WSLimits         trtc.WSLimits
	Version          string
	Logger           *slog.Logger
	// DevApp, when set, is the development app: the demo page may mint
	// userSigs for it.
	DevApp *web.DevApp
	// HTTPSAddr, when set, is a TLS listener serving the same routes: the
	// TRTC Web SDK only talks to wss:// and https:// proxies. TLSCert and
	// TLSKey are its PEM files; without them a self-signed development
	// certificate is made in DataDir.
	HTTPSAddr       string
	TLSCert, TLSKey string
	// Cluster joins other trtcd nodes (RedisURL empty: a single node).
	Cluster ClusterConfig
	// Pprof serves Go's profiler under /debug/pprof/ (for diagnosis only:
	// it reveals internals, so keep it off on public listeners).
	Pprof bool
	// Limits bound what one address or one user can hold or start; zero
	// fields take each component's default.
	Limits Limits
}

// Limits are the per-address limits of every listener (IPv6 per /64) and
// the limits on one user's viewer sessions. A zero field is the default; a
// negative PerSecond, Burst or Connections turns that limit off.
type Limits struct {
	// HTTPConnections caps the connections one address holds on each HTTP
	// listener, WebSockets and FLV players included [2000]: above every
	// per-endpoint cap, so it only stops a flood of idle sockets.
	HTTPConnections int
	// WHIP, WHEP, FLV, RTMP, WS, WebSDK and REST: new requests or
	// connections per second, burst and connections held at once.
	WHIP, WHEP, FLV, RTMP, WS, WebSDK, REST limit.Config

	RTMPTotal      int           // RTMP connections from all addresses [1000]
	LoginTimeout   time.Duration // /ws, /websdk and RTMP sockets must log in within it [10s]
	ViewersPerUser int           // WHEP, RTMP and HTTP-FLV sessions of one userId across rooms [50]
	ViewersPerRoom int           // such sessions in one room [100]
	PublisherWait  time.Duration // an RTMP or HTTP-FLV play that gets no media this long ends [1m]
	ConnectTimeout time.Duration // a WebRTC session not connected this long after its offer is closed [8s]
	// WebSDKFrames: the frame budgets of a /websdk socket (its PerAddress
	// and LoginTimeout come from WebSDK and LoginTimeout).
	WebSDKFrames websdk.Limits
}

// defaultHTTPConnections: a school behind one NAT address holds a /ws or
// /websdk socket and a few players per pupil; 2000 is far above that.
const defaultHTTPConnections = 2000

// RecordConfig: where recording callbacks go and how recordings behave.
type RecordConfig struct {
	CallbackURL  string
	CallbackKey  string
	ResumeWindow time.Duration // 0: the recorder's default
	KeepOpus     bool
	// PublicURL is this server's base URL as application servers reach it,
	// for the download links in callbacks (default: http:// + the HTTP
	// listener's address).
	PublicURL string
}

// HTTP limits: every listener has them, so a slow or hostile client cannot
// hold a connection or memory for long.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// Server is a running trtcd.
type Server struct {
	cfg     Config
	log     *slog.Logger
	started time.Time
	http    *http.Server
	httpLn  net.Listener
	served  chan error
	https   *http.Server // nil without HTTPSAddr
	httpsLn net.Listener
	tlsDone chan error

	shutdownOnce sync.Once
	shutdownErr  error

	sfu     *sfu.SFU
	rooms   *trtc.Registry
	metrics *sfu.Metrics
	live    *trtc.Live
	db      *bolt.DB // the data directory's embedded database
	rec     *record.Recorder
	classes *trtc.Classrooms
	store   *trtc.ClassStore
	rtmp    *rtmp.Server
	rtmpLn  net.Listener
	bframes prometheus.Counter
	cluster atomic.Pointer[cluster.Node] // nil when single
}

// Start binds the listeners and starts serving. It returns once the server
// accepts connections.
func Start(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Apps == nil || cfg.Apps.Len() == 0 {
		return nil, errors.New("server: no application configured")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, started: time.Now(), served: make(chan error, 1), metrics: sfu.NewMetrics()}
	s.rooms = trtc.NewRegistry(cfg.RoomCapacity, cfg.HeartbeatTimeout)
	s.rooms.ViewersPerUser, s.rooms.ViewersPerRoom = cfg.Limits.ViewersPerUser, cfg.Limits.ViewersPerRoom
	media, err := sfu.New(sfu.Config{Transport: cfg.Media, Metrics: s.metrics, Logger: cfg.Logger, ConnectTimeout: cfg.Limits.ConnectTimeout,
		OnTrack: func(room, user string, kind sfu.Kind, published bool) {
			s.rooms.Streams(room, user, kind.String(), published)
			if n := s.cluster.Load(); n != nil {
				n.OnTrack(room, user, kind, published)
			}
		}})
	if err != nil {
		s.rooms.Close()
		return nil, err
	}
	s.sfu = media
	s.bframes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "trtcd_rtmp_bframe_refusals_total",
		Help: "RTMP pushes ended because their H.264 has B-frames, which WebRTC cannot play.",
	})
	s.live = &trtc.Live{Apps: cfg.Apps, Rooms: s.rooms, SFU: media, Logger: cfg.Logger, OnBFrames: s.bframes.Inc,
		FLVLimits: cfg.Limits.FLV, PublisherWait: cfg.Limits.PublisherWait}
	ln, err := s.listenHTTP(cfg.HTTPAddr)
	if err != nil {
		media.Close()
		return nil, fmt.Errorf("server: listen http %s: %w", cfg.HTTPAddr, err)
	}
	if err := s.openData(ln.Addr()); err != nil {
		ln.Close()
		media.Close()
		return nil, err
	}
	if err := s.startRTMP(); err != nil {
		ln.Close()
		s.closeData()
		media.Close()
		return nil, err
	}
	s.httpLn = ln
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	if err := s.startHTTPS(); err != nil {
		ln.Close()
		if s.rtmp != nil {
			s.rtmp.Close()
		}
		s.closeData()
		media.Close()
		return nil, err
	}
	if err := s.startCluster(); err != nil {
		ln.Close()
		if s.https != nil {
			s.https.Close()
			<-s.tlsDone
		}
		if s.rtmp != nil {
			s.rtmp.Close()
		}
		s.closeData()
		media.Close()
		return nil, err
	}
	go func() { s.served <- s.http.Serve(ln) }()
	s.log.Info("http listening", "addr", ln.Addr().String(), "apps", cfg.Apps.Len())
	return s, nil
}

// startHTTPS opens the TLS listener, when configured, serving the HTTP
// listener's routes.
func (s *Server) startHTTPS() error {
	if s.cfg.HTTPSAddr == "" {
		return nil
	}
	var cert tls.Certificate
	var err error
	if s.cfg.TLSCert != "" || s.cfg.TLSKey != "" {
		cert, err = tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
	} else {
		cert, err = websdk.SelfSigned(s.cfg.DataDir)
		s.log.Warn("https uses a self-signed development certificate; set tls_cert and tls_key for production")
	}
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
	go func() { s.tlsDone <- s.https.Serve(tls.NewListener(ln, tlsCfg)) }()
	s.log.Info("https listening", "addr", ln.Addr().String())
	return nil
}

// listenHTTP opens an HTTP listener whose connections are counted per
// address; a refused one is closed before a byte is read.
func (s *Server) listenHTTP(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	max := cmp.Or(s.cfg.Limits.HTTPConnections, defaultHTTPConnections)
	return limit.NewGate(limit.Config{Connections: max, Name: "http"}).Listener(ln, nil), nil // a negative max is no limit
}

// HTTPSAddr is the address the TLS listener is bound to (nil when off).
func (s *Server) HTTPSAddr() net.Addr {
	if s.httpsLn == nil {
		return nil
	}
	return s.httpsLn.Addr()
}

// openData opens the data directory's database and what keeps state in
// it: the recorder (finalising what a crash left, then sending callbacks)
// and the classrooms with their message history.
func (s *Server) openData(httpAddr net.Addr) error {
	if err := os.MkdirAll(s.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("server: data directory: %w", err)
	}
	path := filepath.Join(s.cfg.DataDir, "trtcd.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("server: open %s (is another trtcd using this data directory?): %w", path, err)
	}
	s.db = db
	c := s.cfg.Record
	public := c.PublicURL
	if public == "" {
		public = "http://" + httpAddr.String()
	}
	s.rec, err = record.New(record.Config{
		Dir: filepath.Join(s.cfg.DataDir, "record"), SFU: s.sfu, PublicURL: public, DB: db,
		Callback:     record.CallbackConfig{URL: c.CallbackURL, Key: c.CallbackKey},
		ResumeWindow: c.ResumeWindow, KeepOpus: c.KeepOpus, Logger: s.log,
	})
	if err == nil {
		s.store, err = trtc.OpenClassStore(db)
	}
	if err == nil {
		s.classes, err = trtc.LoadClassrooms(s.rooms, s.store, s.cfg.ClassLimits)
	}
	if err != nil {
		s.closeData()
		return err
	}
	s.classes.OnGroupMessage = func(roomKey, recordID string, m trtc.Message) { s.rec.ClassMessage(roomKey, recordID, m) }
	s.live.Recorder = s.rec
	return nil
}

// closeData ends what openData started, in reverse.
func (s *Server) closeData() {
	if s.rec != nil {
		s.rec.Close() // finalises recordings in progress
	}
	if s.store != nil {
		s.store.Close()
	}
	s.db.Close()
}

// startRTMP opens the RTMP listener, when configured.
func (s *Server) startRTMP() error {
	if s.cfg.RTMPAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.RTMPAddr)
	if err != nil {
		return fmt.Errorf("server: listen rtmp %s: %w", s.cfg.RTMPAddr, err)
	}
	s.rtmpLn = ln
	l := s.cfg.Limits
	s.rtmp = &rtmp.Server{Handler: s.live, Logger: s.log,
		Limits: rtmp.Limits{PerAddress: l.RTMP, MaxConns: l.RTMPTotal, LoginTimeout: l.LoginTimeout}}
	go s.rtmp.Serve(ln)
	s.log.Info("rtmp listening", "addr", ln.Addr().String())
	return nil
}

// RTMPAddr is the address the RTMP listener is bound to (nil when off).
func (s *Server) RTMPAddr() net.Addr {
	if s.rtmpLn == nil {
		return nil
	}
	return s.rtmpLn.Addr()
}

// HTTPAddr is the address the HTTP listener is bound to.
func (s *Server) HTTPAddr() net.Addr { return s.httpLn.Addr() }

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
		<-s.tlsDone
	}
	if s.rtmp != nil {
		s.rtmp.Close()
	}
	if n := s.cluster.Load(); n != nil {
		n.Close()
	}
	s.closeData()
	s.sfu.Close()
	s.rooms.Close()
	if err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	s.log.Info("stopped")
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
	whip := &trtc.WHIP{Apps: s.cfg.Apps, Rooms: s.rooms, SFU: s.sfu, Bitrate: s.cfg.Bitrate, Recorder: s.rec, Logger: s.log,
		WHIPLimits: l.WHIP, WHEPLimits: l.WHEP}
	whip.Register(mux)
	s.live.Register(mux)
	if s.rtmpLn != nil {
		(&trtc.RoomSig{Apps: s.cfg.Apps, RTMPPort: s.rtmpLn.Addr().(*net.TCPAddr).Port, Limits: l.REST}).Register(mux)
	}
	roomAPI := &trtc.RoomAPI{Apps: s.cfg.Apps, Rooms: s.rooms, Classrooms: s.classes, Limits: l.REST}
	roomAPI.Register(mux)
	(&trtc.RecordAPI{Rooms: roomAPI, Recorder: s.rec, Limits: l.REST}).Register(mux)
	web.Register(mux, s.cfg.DevApp)
	(&websdk.Handler{Apps: s.cfg.Apps, Rooms: s.rooms, SFU: s.sfu, Bitrate: s.cfg.Bitrate, Logger: s.log,
		Limits: s.websdkLimits()}).Register(mux)
	mux.Handle("GET /ws", &trtc.WebSocket{Apps: s.cfg.Apps, Rooms: s.rooms, SFU: s.sfu, Bitrate: s.cfg.Bitrate,
		Limits: s.wsLimits(), Recorder: s.rec, Classrooms: s.classes, Logger: s.log})
	return mux
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"status":         "ok",
		"version":        s.cfg.Version,
		"uptime_seconds": int64(time.Since(s.started).Seconds()),
	})
}

// UDPAddr is the bound WebRTC media address.
func (s *Server) UDPAddr() string { return s.sfu.UDPAddr() }

func (s *Server) registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		s.metrics,
		s.bframes,
		panics.Total,
		limit.Refused,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "trtcd_build_info",
			Help:        "Always 1; the version label says which trtcd runs.",
			ConstLabels: prometheus.Labels{"version": s.cfg.Version},
		}, func() float64 { return 1 }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "trtcd_apps_configured",
			Help: "Number of applications (sdkAppIds) this server serves.",
		}, func() float64 { return float64(s.cfg.Apps.Len()) }),
		cluster.NewCollector(s.Cluster), // trtcd_cluster_*; nothing while single (the node starts after the routes are built)
	)
	return reg
}
