package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/trtcd/trtcd/codec"
)

// serveFlags are the flags of `trtcd serve`; empty means "not given".
type serveFlags struct {
	config     string
	http       string
	https      string
	udp        string
	iceTCP     string
	rtmp       string
	callback   string
	publicIP   stringList
	data       string
	logLevel   string
	apps       appList
	requirePMK bool
	pprof      bool
	slowPath   bool
	workers    int
	dev        bool
	redis      string
	nodeID     string
	relay      string

	// opusComplexity and opusMonoChannels (0: not given) encode RTMP
	// pushers' AAC.
	opusComplexity   optionalInt
	opusMonoChannels int
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "YAML configuration file (also $TRTCD_CONFIG)")
	fs.StringVar(&f.http, "http", "", "HTTP listen address (default "+defaultHTTP+"; $TRTCD_HTTP)")
	fs.StringVar(&f.https, "https", "", "HTTPS listen address: every route over TLS, for the TRTC Web SDK's proxy and WeChat mini programs (https:// and wss:// only) (off by default; a self-signed certificate unless tls_cert and tls_key are configured; $TRTCD_HTTPS)")
	fs.StringVar(&f.udp, "udp", "", "WebRTC media UDP port or address, one for all media (default "+defaultMediaPort+" on the --http host; $TRTCD_UDP)")
	fs.StringVar(&f.iceTCP, "ice-tcp", "", "ICE-TCP fallback port or address, or off (default: the --udp port over TCP; $TRTCD_ICE_TCP)")
	fs.StringVar(&f.rtmp, "rtmp", "", "RTMP listen port or address for live-pusher/live-player, or off (default "+defaultRTMPPort+" on the --http host; $TRTCD_RTMP)")
	fs.Var(&f.opusComplexity, "opus-complexity", "libopus complexity 0-10 for RTMP pushers' audio (default "+strconv.Itoa(codec.DefaultOpusComplexity)+"; rtmp_audio.opus_complexity)")
	fs.IntVar(&f.opusMonoChannels, "opus-mono-channels", 0, "Opus channels for a mono RTMP pusher, 1 or 2 (default 1; rtmp_audio.mono_channels)")
	fs.StringVar(&f.callback, "record-callback", "", "URL that gets a POST when a recording is final ($TRTCD_RECORD_CALLBACK_URL; its key: record.callback_key or $TRTCD_RECORD_CALLBACK_KEY)")
	fs.Var(&f.publicIP, "public-ip", "IP address to advertise in ICE candidates (NAT 1:1; repeatable; $TRTCD_PUBLIC_IP, comma-separated)")
	fs.StringVar(&f.data, "data", "", "data directory (default ./"+defaultData+"; $TRTCD_DATA)")
	fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error (default info; $TRTCD_LOG_LEVEL)")
	fs.Var(&f.apps, "app", "add an application as SDKAPPID:SECRETKEY (repeatable; $TRTCD_APPS takes a comma-separated list)")
	fs.StringVar(&f.redis, "redis", "", "Redis URL of a cluster's directory, e.g. redis://127.0.0.1:6379/0 (off by default; $TRTCD_REDIS; node certificates: trtcd cluster init)")
	fs.StringVar(&f.nodeID, "node-id", "", "this node's id in the cluster (default: the host name; $TRTCD_NODE_ID)")
	fs.StringVar(&f.relay, "relay", "", "QUIC relay UDP address between cluster nodes (default "+defaultRelayPort+" on the --http host; $TRTCD_RELAY)")
	fs.BoolVar(&f.slowPath, "no-fast-path", false, "keep media in pion's SRTP pipeline instead of trtcd's fast path (diagnosis, comparison)")
	fs.IntVar(&f.workers, "media-workers", 0, "sockets on the media port, each read by its own goroutine (default: one per CPU, GOMAXPROCS; $TRTCD_MEDIA_WORKERS)")
	fs.BoolVar(&f.dev, "dev", false, "serve the development app even on a non-loopback listener (never in production: anyone who reaches it can mint userSigs; $TRTCD_DEV)")
	fs.BoolVar(&f.pprof, "debug-pprof", false, "serve Go's profiler under /debug/pprof/ on the HTTP listener (diagnosis only)")
	fs.BoolVar(&f.requirePMK, "require-private-map-key", false,
		"make privateMapKey mandatory for the apps given by --app ($TRTCD_REQUIRE_PRIVATE_MAP_KEY does so for $TRTCD_APPS)")
}

// optionalInt is an int flag that knows whether it was given.
type optionalInt struct {
	v   int
	set bool
}

func (o *optionalInt) String() string { return strconv.Itoa(o.v) }
func (o *optionalInt) Set(v string) (err error) {
	o.v, err = strconv.Atoi(v)
	o.set = err == nil
	return err
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// appList is a repeatable SDKAPPID:SECRETKEY flag.
type appList []appConfig

func (l *appList) String() string { return fmt.Sprintf("%d apps", len(*l)) }

func (l *appList) Set(v string) error {
	a, err := parseApp(v)
	if err != nil {
		return err
	}
	*l = append(*l, a)
	return nil
}

func parseApp(v string) (appConfig, error) {
	id, key, ok := strings.Cut(strings.TrimSpace(v), ":")
	n, err := strconv.ParseUint(id, 10, 32)
	if !ok || err != nil || n == 0 || key == "" {
		// Never echo v: it holds the secret key.
		return appConfig{}, fmt.Errorf("want SDKAPPID:SECRETKEY with a numeric sdkAppId")
	}
	return appConfig{SDKAppID: uint32(n), Key: key}, nil
}
