// Package server assembles a running trtcd from one list of components
// (components.go): it opens them in order, and closes those it opened in
// reverse, whether Start fails half way or the server shuts down.
package server

import (
	"log/slog"
	"time"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/codec"
	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/web"
	"github.com/trtcd/trtcd/websdk"
	"github.com/trtcd/trtcd/ws"
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
	// Opus encodes RTMP pushers' AAC for WebRTC viewers (zero: the
	// defaults, see codec.AACToOpusOptions).
	Opus codec.AACToOpusOptions
	// Record configures recording (files under DataDir/record).
	Record RecordConfig
	// ClassLimits bound classroom messages (zero: the defaults).
	ClassLimits classroom.Limits
	Bitrate     wayin.BitrateLimits
	// RoomCapacity is the member limit of rooms without a 1v1 template
	// (0: the default); HeartbeatTimeout removes silent members.
	RoomCapacity     int
	HeartbeatTimeout time.Duration
	WSLimits         ws.Limits
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
	// HTTPTotal caps the connections each HTTP listener holds from all
	// addresses [10000]: see defaultHTTPTotal.
	HTTPTotal int
	// WHIP, WHEP, FLV, RTMP, WS, WebSDK and REST: new requests or
	// connections per second, burst and connections held at once.
	WHIP, WHEP, FLV, RTMP, WS, WebSDK, REST limit.Config
	// ICETCP: ICE-TCP connections (WebRTC media over TCP) [sfu.DefaultICETCPLimits].
	ICETCP limit.Config

	RTMPTotal      int           // RTMP connections from all addresses [1000]
	RTMPQueued     int           // bytes waiting for one RTMP player [8 MiB]; a player past it is dropped
	LoginTimeout   time.Duration // /ws, /websdk and RTMP sockets must log in within it [10s]
	ViewersPerUser int           // WHEP, RTMP and HTTP-FLV sessions of one userId across rooms [50]
	ViewersPerRoom int           // such sessions in one room [100]
	PublisherWait  time.Duration // an RTMP or HTTP-FLV play that gets no media this long ends [1m]
	ConnectTimeout time.Duration // a WebRTC session not connected this long after its offer is closed [8s]
	// PublishKbps caps each track of a WebRTC publisher (the excess is
	// dropped) and each RTMP connection's reads (TCP slows the pusher),
	// averaged over a second [20000].
	PublishKbps int
	// WebSDKFrames: the frame budgets of a /websdk socket (its PerAddress
	// and LoginTimeout come from WebSDK and LoginTimeout).
	WebSDKFrames websdk.Limits
}

// defaultHTTPConnections: a school behind one NAT address holds a /ws or
// /websdk socket and a few players per pupil; 2000 is far above that.
const defaultHTTPConnections = 2000

// defaultHTTPTotal: a school of a thousand pupils holds a few thousand
// (a socket, players, requests each). 10000 per listener, with RTMP's 1000
// and ICE-TCP's 5000, stays far below the descriptors Go gives a process
// (it raises RLIMIT_NOFILE to the hard limit, 1048576 on most systems): past
// the cap a connection is closed at accept, not left to exhaust them.
const defaultHTTPTotal = 10000

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
	// MinFreeBytes: record.Config.MinFreeBytes (0: its default).
	MinFreeBytes int64
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
