package sfu

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/rawudp"
)

// TransportConfig says where media flows.
type TransportConfig struct {
	// UDPAddr is the one UDP address all WebRTC media uses (ICE UDP mux).
	UDPAddr string
	// TCPAddr is the ICE-TCP fallback address; empty disables ICE-TCP.
	TCPAddr string
	// TCPPerAddress: the ICE-TCP connections one client address may open
	// and hold [DefaultICETCPLimits]; zero fields take the default.
	TCPPerAddress limit.Config
	// PublicIPs are advertised in candidates instead of the bound address
	// (NAT 1:1, for servers behind a static NAT).
	PublicIPs []string
	// LoopbackOnly restricts ICE to the loopback interface (development and
	// tests: nothing leaves the machine).
	LoopbackOnly bool
	// SlowPath keeps all media in pion's own SRTP pipeline instead of the
	// fast path (for diagnosis and comparison). It reads one socket: pion's
	// one mux goroutine would take every packet anyway.
	SlowPath bool
	// Workers is how many sockets serve UDPAddr (SO_REUSEPORT), each with
	// its own reader goroutine on which the fast path runs [GOMAXPROCS].
	// One reader is a ceiling: every fast-path packet of the node is
	// decrypted and forwarded on it. 64-bit Linux only; one elsewhere.
	Workers int
	// STUN limits the STUN messages from one address and port, and (twice
	// it) to one session, that reach ICE; the rest are dropped (stunlimit.go).
	STUN limit.Config

	// seen, when set (tests), is told which worker read each datagram that
	// goes to pion.
	seen func(worker int, addr netip.AddrPort)
	// firstSTUNTimeout, when set (tests), replaces the package's.
	firstSTUNTimeout time.Duration
}

// workerCount is how many sockets serve the media port.
func (c TransportConfig) workerCount() int {
	switch {
	case c.SlowPath:
		return 1
	case c.Workers > 0:
		return c.Workers
	default:
		return runtime.GOMAXPROCS(0)
	}
}

// DefaultSTUNLimit: ICE checks every 50 ms per candidate pair, so 100 a
// second from one address and port is twice what a client needs.
var DefaultSTUNLimit = limit.Config{PerSecond: 100, Burst: 200, Name: "stun"}

// ICE timeouts: a client that vanishes without a goodbye is noticed after
// disconnectedTimeout and freed after failedTimeout.
const (
	disconnectedTimeout = 5 * time.Second
	failedTimeout       = 10 * time.Second
	keepAliveInterval   = 2 * time.Second
	tcpReadBuffer       = 64
)

// transport owns the media sockets and the pion API built on them.
type transport struct {
	api    *webrtc.API
	udp    *mediaConn
	tcp    net.Listener
	udpMux ice.UDPMux
	tcpMux ice.TCPMux
	// tcpRoutes are ICE-TCP sessions' screens, by remote address.
	tcpRoutes *routeTable
	// slowPath: see TransportConfig.SlowPath.
	slowPath bool
}

func newTransport(cfg TransportConfig, logs logging.LoggerFactory) (*transport, error) {
	t := &transport{slowPath: cfg.SlowPath, tcpRoutes: newRouteTable()}
	socks, err := rawudp.ListenShared("udp4", cfg.UDPAddr, cfg.workerCount())
	if err != nil {
		return nil, fmt.Errorf("sfu: listen udp %s: %w", cfg.UDPAddr, err)
	}
	for _, udp := range socks {
		// Every participant's media shares these sockets: the kernel's
		// default 208 KB receive buffer overflows in bursts (keyframes of
		// many rooms at once) long before the CPU is busy. The kernel caps
		// these at net.core.rmem_max / wmem_max.
		udp.SetReadBuffer(udpSocketBuffer)
		udp.SetWriteBuffer(udpSocketBuffer)
	}
	if t.udp, err = newMediaConn(socks, cfg.STUN.Or(DefaultSTUNLimit), cfg.seen); err != nil {
		for _, udp := range socks {
			udp.Close()
		}
		return nil, fmt.Errorf("sfu: udp %s: %w", cfg.UDPAddr, err)
	}
	t.udpMux = webrtc.NewICEUDPMux(logs.NewLogger("ice"), t.udp)

	se := webrtc.SettingEngine{LoggerFactory: logs}
	// A full ICE agent, not ICE-lite: with a lite server the client's
	// checks succeed at once, but a client such as pion (or any full agent
	// that nominates on its check timer) nominates only on its next tick,
	// 200 ms later, and a new viewer waits that long for its first frame.
	// A full agent's own checks to the client's candidates complete the
	// pair from both sides and the client nominates at once: first video
	// about 20 ms after a WHEP request on loopback instead of 220 ms. The
	// checks go only to the candidates an admitted offer names, and an
	// offer names at most maxOfferCandidates (sdp.go).
	se.SetLite(false)
	se.SetICEUDPMux(t.udpMux)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if cfg.TCPAddr != "" {
		if t.tcp, t.tcpMux, err = listenICETCP(cfg, t.tcpRoutes, t.udp.stun, logs); err != nil {
			t.close()
			return nil, err
		}
		se.SetICETCPMux(t.tcpMux)
		// Passive only: the server dials no client (a connection it opened
		// would not pass the sessions' screens, icetcp.go), and a client
		// behind a firewall that blocks UDP reaches the server anyway.
		se.DisableActiveTCP(true)
		networks = append(networks, webrtc.NetworkTypeTCP4)
	}
	se.SetNetworkTypes(networks)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(disconnectedTimeout, failedTimeout, keepAliveInterval)
	if cfg.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	}
	if len(cfg.PublicIPs) > 0 {
		se.SetNAT1To1IPs(cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	// AES-GCM first: cheaper per packet than AES-CM + HMAC-SHA1 with AES-NI.
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)

	me, err := newMediaEngine()
	if err != nil {
		t.close()
		return nil, err
	}
	ir, err := newInterceptors()
	if err != nil {
		t.close()
		return nil, err
	}
	t.api = webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir))
	return t, nil
}

func (t *transport) close() {
	if t.udpMux != nil {
		t.udpMux.Close()
	}
	if t.udp != nil {
		t.udp.Close()
	}
	if t.tcpMux != nil {
		t.tcpMux.Close()
	}
	if t.tcp != nil {
		t.tcp.Close()
	}
}

// The codecs a room speaks. H.264 constrained baseline with packetization
// mode 1 comes first (RTMP, FLV and MP4 carry it untranscoded); VP8 only for
// clients that offer nothing else.
var (
	videoFeedback = []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	roomCodecs    = []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: MimeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", RTCPFeedback: videoFeedback}, PayloadType: 102},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: MimeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f", RTCPFeedback: videoFeedback}, PayloadType: 104},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: MimeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}, PayloadType: 96},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: MimeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111},
	}
)

func newMediaEngine() (*webrtc.MediaEngine, error) {
	me := &webrtc.MediaEngine{}
	for _, c := range roomCodecs {
		kind := webrtc.RTPCodecTypeVideo
		if c.MimeType == MimeOpus {
			kind = webrtc.RTPCodecTypeAudio
		}
		if err := me.RegisterCodec(c, kind); err != nil {
			return nil, fmt.Errorf("sfu: register %s: %w", c.MimeType, err)
		}
	}
	return me, nil
}

// newInterceptors: receive side only. NACKs towards publishers and receiver
// reports come from pion; the send side (NACK answers from the shared packet
// cache, sender reports, REMB) is the SFU's own, so no per-subscriber packet
// copies are kept.
func newInterceptors() (*interceptor.Registry, error) {
	// Receiver reports only: NACKs come from each track's nackGenerator.
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	ir.Add(rr)
	return ir, nil
}

// udpSocketBuffer is the media socket's buffer size asked for: about a
// second of 50 rooms' media.
const udpSocketBuffer = 8 << 20
