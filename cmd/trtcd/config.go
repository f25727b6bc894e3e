package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/codec"
	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/ws"
)

// fileConfig is the YAML configuration file. Every field is optional; the
// environment (TRTCD_*) and flags override it, in that order.
type fileConfig struct {
	HTTP     string        `yaml:"http"`
	HTTPS    string        `yaml:"https"`    // the same routes over TLS (the TRTC Web SDK needs it)
	TLSCert  string        `yaml:"tls_cert"` // its certificate and key; without them a self-signed
	TLSKey   string        `yaml:"tls_key"`  // development certificate is made in the data directory
	UDP      string        `yaml:"udp"`
	ICETCP   string        `yaml:"ice_tcp"`
	Media    mediaConfig   `yaml:"media"`
	RTMP     string        `yaml:"rtmp"`
	PublicIP []string      `yaml:"public_ip"`
	Data     string        `yaml:"data"`
	LogLevel string        `yaml:"log_level"`
	Bitrate  bitrateConfig `yaml:"bitrate"`
	Rooms    roomsConfig   `yaml:"rooms"`
	WS       wsConfig      `yaml:"websocket"`
	Record   recordConfig  `yaml:"record"`
	Classes  classConfig   `yaml:"classrooms"`
	Apps     []appConfig   `yaml:"apps"`
	Cluster  clusterConfig `yaml:"cluster"`
	Limits   limitsConfig  `yaml:"limits"`

	RTMPAudio rtmpAudioConfig `yaml:"rtmp_audio"` // the Opus encoding of RTMP pushers' AAC
}

// rtmpAudioConfig: how RTMP pushers' AAC is encoded to Opus for WebRTC
// viewers; each setting's CPU and quality: codec's
// BenchmarkAACToOpusOptions.
type rtmpAudioConfig struct {
	OpusComplexity *int `yaml:"opus_complexity"` // libopus 0-10 [codec.DefaultOpusComplexity]
	MonoChannels   int  `yaml:"mono_channels"`   // Opus channels for a mono source, 1 or 2 [1]
}

// clusterConfig joins other trtcd nodes (docs/cluster.md); redis empty:
// a single node.
type clusterConfig struct {
	Redis  string `yaml:"redis"`   // redis://host:port/db, the directory
	NodeID string `yaml:"node_id"` // unique per node [hostname]
	Relay  string `yaml:"relay"`   // QUIC relay UDP address [port 7900 on the --http host]
	Certs  string `yaml:"certs"`   // directory of ca.pem, NODE.pem, NODE-key.pem (trtcd cluster init) [DATA/cluster]
}

// mediaConfig tunes the media plane.
type mediaConfig struct {
	// Workers: sockets on the media port (SO_REUSEPORT), each read by its
	// own goroutine [0: GOMAXPROCS].
	Workers int `yaml:"workers"`
}

// classConfig: limits of classroom messages (0 keeps the default).
type classConfig struct {
	MaxMessageBytes   int     `yaml:"max_message_bytes"`   // text or data of one message [12288]
	MessagesPerSecond float64 `yaml:"messages_per_second"` // per sender [20]
	MessageBurst      int     `yaml:"message_burst"`       // [40]
	HistoryCap        int     `yaml:"history_cap"`         // group messages kept per class [10000]
	HistoryBytes      int     `yaml:"history_bytes"`       // and of them the newest that fit [32 MiB]
	// history_reply_bytes [1 MiB]: one history reply carries the whole
	// messages that fit, and "more" when others are left.
	HistoryReplyBytes int `yaml:"history_reply_bytes"`
	// history_bytes_per_second [1 MiB]: the history one /ws connection is
	// sent, after a first 4 seconds' worth; then 10023 with how long to wait.
	HistoryBytesPerSecond int           `yaml:"history_bytes_per_second"`
	ClassesPerUser        int           `yaml:"classes_per_user"`    // existing classes one userId created [20], then 10037
	RetryCacheEntries     int           `yaml:"retry_cache_entries"` // clientMsgIds remembered for retries, per node [10000]
	RetryWindow           time.Duration `yaml:"retry_window"`        // how long a retry gets its first number [10m]
}

// limits merges the configured values over the defaults.
func (c classConfig) limits() classroom.Limits {
	l := classroom.DefaultLimits
	for _, f := range []struct{ dst, v *int }{{&l.MaxMessageBytes, &c.MaxMessageBytes}, {&l.MessageBurst, &c.MessageBurst}, {&l.HistoryCap, &c.HistoryCap}, {&l.HistoryBytes, &c.HistoryBytes}} {
		if *f.v > 0 {
			*f.dst = *f.v
		}
	}
	if c.MessagesPerSecond > 0 {
		l.MessagesPerSecond = c.MessagesPerSecond
	}
	l.HistoryBytesPerSecond = c.HistoryBytesPerSecond
	l.HistoryReplyBytes, l.ClassesPerUser, l.RetryCacheEntries, l.RetryWindow = c.HistoryReplyBytes, c.ClassesPerUser, c.RetryCacheEntries, c.RetryWindow
	return l
}

// recordConfig: recordings (files under the data directory) and their
// completion callbacks.
type recordConfig struct {
	CallbackURL  string        `yaml:"callback_url"`   // POSTed when a file is final
	CallbackKey  string        `yaml:"callback_key"`   // sign = MD5(key + t)
	ResumeWindow time.Duration `yaml:"resume_window"`  // a publisher back within it continues its file
	KeepOpus     bool          `yaml:"keep_opus"`      // MP4 audio as Opus instead of AAC
	PublicURL    string        `yaml:"public_url"`     // base of the download links in callbacks
	MinFreeBytes int64         `yaml:"min_free_bytes"` // disk kept free beside recordings in progress [2 GiB; -1: no check]
}

// roomsConfig: room rules that are the operator's to choose.
type roomsConfig struct {
	Capacity         int           `yaml:"capacity"`          // members of a non-1v1 room
	HeartbeatTimeout time.Duration `yaml:"heartbeat_timeout"` // e.g. 30s
}

// wsConfig: limits of the /ws signalling endpoint (0 keeps the default).
type wsConfig struct {
	MaxMessageBytes   int64         `yaml:"max_message_bytes"`
	MessagesPerSecond float64       `yaml:"messages_per_second"`
	MessageBurst      int           `yaml:"message_burst"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	MaxQueuedBytes    int           `yaml:"max_queued_bytes"`
	// The older names of limits.ws per_second and burst.
	JoinsPerSecondIP float64 `yaml:"connections_per_second_per_ip"`
	JoinBurstIP      int     `yaml:"connection_burst_per_ip"`
}

// limits merges the configured values over the defaults.
func (w wsConfig) limits() ws.Limits {
	l := ws.DefaultLimits
	if w.MaxMessageBytes > 0 {
		l.MaxMessageBytes = w.MaxMessageBytes
	}
	if w.MessagesPerSecond > 0 {
		l.MessagesPerSecond = w.MessagesPerSecond
	}
	if w.MessageBurst > 0 {
		l.MessageBurst = w.MessageBurst
	}
	if w.JoinsPerSecondIP > 0 {
		l.JoinsPerSecondIP = w.JoinsPerSecondIP
	}
	if w.JoinBurstIP > 0 {
		l.JoinBurstIP = w.JoinBurstIP
	}
	if w.IdleTimeout > 0 {
		l.IdleTimeout = w.IdleTimeout
	}
	if w.MaxQueuedBytes > 0 {
		l.MaxQueuedBytes = w.MaxQueuedBytes
	}
	return l
}

// bitrateConfig (kbps): the default range a publisher gets and the bounds a
// client's own minBitrate/maxBitrate are clamped to.
type bitrateConfig struct {
	Min     int `yaml:"min"`
	Max     int `yaml:"max"`
	Floor   int `yaml:"floor"`
	Ceiling int `yaml:"ceiling"`
}

type appConfig struct {
	SDKAppID             uint32   `yaml:"sdkappid" json:"sdkappid"`
	Key                  string   `yaml:"key" json:"key"`
	RequirePrivateMapKey bool     `yaml:"require_private_map_key" json:"require_private_map_key,omitempty"`
	Admins               []string `yaml:"admins" json:"-"` // REST API identifiers (default: administrator)
}

// The embedded defaults: loopback only, data next to where trtcd runs.
const (
	defaultHTTP      = "127.0.0.1:8080"
	defaultMediaPort = "8000"
	defaultRTMPPort  = "1935"
	defaultData      = "trtcd-data"
)

// serveConfig is the merged result.
type serveConfig struct {
	HTTP     string
	UDP      string // WebRTC media (ICE UDP mux): host:port
	ICETCP   string // ICE-TCP fallback: host:port, "" when off
	RTMP     string // RTMP listener: host:port, "" when off
	Opus     codec.AACToOpusOptions
	HTTPS    string // TLS listener: host:port, "" when off
	TLSCert  string // its certificate and key (PEM files); "": self-signed
	TLSKey   string
	PublicIP []string
	Data     string
	LogLevel slog.Level
	Bitrate  bitrateConfig
	Rooms    roomsConfig
	WS       wsConfig
	Record   recordConfig
	Classes  classConfig
	Apps     []appConfig // later entries replace earlier ones with the same id
	Cluster  clusterConfig
	Limits   limitsConfig
	Dev      bool // serve the development app on a public listener ($TRTCD_DEV)

	MediaWorkers int // sockets on the media port; 0: GOMAXPROCS
}

// loadConfig merges the embedded defaults, the YAML file, the environment
// and the flags, each overriding the one before.
func loadConfig(f *serveFlags, getenv func(string) string) (*serveConfig, error) {
	c := &serveConfig{HTTP: defaultHTTP, Data: defaultData, Opus: codec.AACToOpusOptions{Complexity: codec.DefaultOpusComplexity}}
	level, udp, iceTCP, rtmp := "info", "", "", ""
	path := f.config
	if path == "" {
		path = getenv("TRTCD_CONFIG")
	}
	if path != "" {
		fc, err := readConfigFile(path)
		if err != nil {
			return nil, err
		}
		override(&c.HTTP, fc.HTTP)
		c.HTTPS, c.TLSCert, c.TLSKey = fc.HTTPS, fc.TLSCert, fc.TLSKey
		override(&udp, fc.UDP)
		override(&iceTCP, fc.ICETCP)
		c.MediaWorkers = fc.Media.Workers
		override(&rtmp, fc.RTMP)
		if fc.RTMPAudio.OpusComplexity != nil {
			c.Opus.Complexity = *fc.RTMPAudio.OpusComplexity
		}
		c.Opus.MonoSourceChannels = fc.RTMPAudio.MonoChannels
		override(&c.Data, fc.Data)
		override(&level, fc.LogLevel)
		c.PublicIP = fc.PublicIP
		c.Bitrate = fc.Bitrate
		c.Rooms, c.WS, c.Record, c.Classes = fc.Rooms, fc.WS, fc.Record, fc.Classes
		c.Apps = append(c.Apps, fc.Apps...)
		c.Cluster = fc.Cluster
		c.Limits = fc.Limits
	}

	override(&c.HTTP, getenv("TRTCD_HTTP"))
	override(&c.HTTPS, getenv("TRTCD_HTTPS"))
	override(&c.TLSCert, getenv("TRTCD_TLS_CERT"))
	override(&c.TLSKey, getenv("TRTCD_TLS_KEY"))
	override(&udp, getenv("TRTCD_UDP"))
	override(&iceTCP, getenv("TRTCD_ICE_TCP"))
	override(&rtmp, getenv("TRTCD_RTMP"))
	if v := getenv("TRTCD_MEDIA_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("TRTCD_MEDIA_WORKERS=%q: want a number", v)
		}
		c.MediaWorkers = n
	}
	if v := getenv("TRTCD_PUBLIC_IP"); v != "" {
		c.PublicIP = strings.Split(v, ",")
	}
	override(&c.Data, getenv("TRTCD_DATA"))
	override(&c.Record.CallbackURL, getenv("TRTCD_RECORD_CALLBACK_URL"))
	override(&c.Record.CallbackKey, getenv("TRTCD_RECORD_CALLBACK_KEY"))
	override(&level, getenv("TRTCD_LOG_LEVEL"))
	override(&c.Cluster.Redis, getenv("TRTCD_REDIS"))
	override(&c.Cluster.NodeID, getenv("TRTCD_NODE_ID"))
	override(&c.Cluster.Relay, getenv("TRTCD_RELAY"))
	override(&c.Cluster.Certs, getenv("TRTCD_CLUSTER_CERTS"))
	dev, err := parseBoolEnv(getenv, "TRTCD_DEV")
	if err != nil {
		return nil, err
	}
	c.Dev = dev || f.dev
	envApps, err := parseEnvApps(getenv)
	if err != nil {
		return nil, err
	}
	c.Apps = append(c.Apps, envApps...)

	override(&c.HTTP, f.http)
	override(&c.HTTPS, f.https)
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return nil, errors.New("config: tls_cert and tls_key go together")
	}
	override(&udp, f.udp)
	override(&iceTCP, f.iceTCP)
	override(&rtmp, f.rtmp)
	if f.opusComplexity.set {
		c.Opus.Complexity = f.opusComplexity.v
	}
	if f.opusMonoChannels != 0 {
		c.Opus.MonoSourceChannels = f.opusMonoChannels
	}
	if !codec.ValidOpusComplexity(c.Opus.Complexity) || c.Opus.MonoSourceChannels < 0 || c.Opus.MonoSourceChannels > 2 {
		return nil, fmt.Errorf("rtmp_audio: opus complexity %d, %d channels for mono: want 0-10 and 1 or 2",
			c.Opus.Complexity, c.Opus.MonoSourceChannels)
	}
	if f.workers != 0 {
		c.MediaWorkers = f.workers
	}
	if c.MediaWorkers < 0 {
		return nil, fmt.Errorf("media workers %d: want 1 or more, or 0 for one per CPU", c.MediaWorkers)
	}
	if len(f.publicIP) > 0 {
		c.PublicIP = f.publicIP
	}
	override(&c.Data, f.data)
	override(&c.Record.CallbackURL, f.callback)
	if c.Record.CallbackURL != "" && c.Record.CallbackKey == "" {
		// sign = MD5(key + t): with no key anyone can sign a callback.
		return nil, errors.New("record: callback_url needs a callback_key ($TRTCD_RECORD_CALLBACK_KEY) to sign the callbacks; " +
			"without one anyone could forge them")
	}
	override(&level, f.logLevel)
	override(&c.Cluster.Redis, f.redis)
	override(&c.Cluster.NodeID, f.nodeID)
	override(&c.Cluster.Relay, f.relay)
	for _, a := range f.apps {
		a.RequirePrivateMapKey = f.requirePMK
		c.Apps = append(c.Apps, a)
	}

	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	c.Apps = dedupeApps(c.Apps)
	if err := c.resolveMedia(udp, iceTCP, rtmp); err != nil {
		return nil, err
	}
	if err := c.resolveCluster(); err != nil {
		return nil, err
	}
	return c, nil
}

// resolveMedia turns the --udp, --ice-tcp and --rtmp values (a port, an
// address, or nothing) into addresses. A bare port goes on the HTTP
// listener's host, so a loopback server keeps its media on loopback too.
func (c *serveConfig) resolveMedia(udp, iceTCP, rtmp string) error {
	host, _, err := net.SplitHostPort(c.HTTP)
	if err != nil {
		return fmt.Errorf("http address %q: %w", c.HTTP, err)
	}
	withHost := func(v string) string {
		if _, err := strconv.ParseUint(v, 10, 16); err == nil {
			return net.JoinHostPort(host, v)
		}
		return v
	}
	if udp == "" {
		udp = defaultMediaPort
	}
	c.UDP = withHost(udp)
	switch iceTCP {
	case "off", "false", "none":
		c.ICETCP = ""
	case "":
		c.ICETCP = c.UDP
	default:
		c.ICETCP = withHost(iceTCP)
	}
	switch rtmp {
	case "off", "false", "none":
		c.RTMP = ""
	case "":
		c.RTMP = withHost(defaultRTMPPort)
	default:
		c.RTMP = withHost(rtmp)
	}
	for _, ip := range c.PublicIP {
		if net.ParseIP(strings.TrimSpace(ip)) == nil {
			return fmt.Errorf("public IP %q is not an IP address", ip)
		}
	}
	return nil
}

// limits merges the configured bitrates over TRTC's defaults and checks
// that floor ≤ min ≤ max ≤ ceiling.
func (b bitrateConfig) limits() (wayin.BitrateLimits, error) {
	l := wayin.DefaultBitrateLimits
	for _, f := range []struct {
		dst *int
		v   int
	}{{&l.DefaultMin, b.Min}, {&l.DefaultMax, b.Max}, {&l.Floor, b.Floor}, {&l.Ceiling, b.Ceiling}} {
		if f.v < 0 {
			return l, fmt.Errorf("bitrate: %d kbps is negative", f.v)
		}
		if f.v > 0 {
			*f.dst = f.v
		}
	}
	if !(l.Floor <= l.DefaultMin && l.DefaultMin <= l.DefaultMax && l.DefaultMax <= l.Ceiling) {
		return l, fmt.Errorf("bitrate: want floor ≤ min ≤ max ≤ ceiling, have %d ≤ %d ≤ %d ≤ %d kbps", l.Floor, l.DefaultMin, l.DefaultMax, l.Ceiling)
	}
	return l, nil
}

// loopbackOnly reports whether media is bound to loopback (development).
func (c *serveConfig) loopbackOnly() bool {
	host, _, _ := net.SplitHostPort(c.UDP)
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

func readConfigFile(path string) (*fileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var fc fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)                                              // a misspelt key is an error, not a silent default
	if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) { // an empty file is fine
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &fc, nil
}

// dedupeApps keeps the last definition of each sdkAppId, so a flag or
// variable overrides the file for the same app.
func dedupeApps(apps []appConfig) []appConfig {
	last := map[uint32]int{}
	for i, a := range apps {
		last[a.SDKAppID] = i
	}
	var out []appConfig
	for i, a := range apps {
		if last[a.SDKAppID] == i {
			out = append(out, a)
		}
	}
	return out
}

// defaultRelayPort is the QUIC relay's UDP port.
const defaultRelayPort = "7900"

// resolveCluster fills the cluster defaults when a directory is set.
func (c *serveConfig) resolveCluster() error {
	cl := &c.Cluster
	if cl.Redis == "" {
		return nil
	}
	if cl.Certs == "" {
		cl.Certs = filepath.Join(c.Data, "cluster")
	}
	if cl.NodeID == "" {
		host, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("config: node id: %w", err)
		}
		cl.NodeID = host
	}
	host, _, err := net.SplitHostPort(c.HTTP)
	if err != nil {
		return fmt.Errorf("config: http address %q: %w", c.HTTP, err)
	}
	switch {
	case cl.Relay == "":
		cl.Relay = net.JoinHostPort(host, defaultRelayPort)
	case !strings.Contains(cl.Relay, ":"):
		cl.Relay = net.JoinHostPort(host, cl.Relay)
	}
	return nil
}
