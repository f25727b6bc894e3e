// Package testpeer builds real pion WebRTC clients for tests and the bench:
// loopback only, with the default codecs and interceptors a stock pion
// client has, optionally behind a lossy uplink, and a synthetic H.264 + Opus
// source with a realistic frame pattern.
package testpeer

import (
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
	"github.com/pion/webrtc/v4"
)

// Options for a client.
type Options struct {
	// UplinkLoss drops this fraction (0..1) of the RTP packets the client
	// sends, like a lossy network between it and the server. RTCP, STUN
	// and DTLS always pass.
	UplinkLoss float64
	// Dropped counts the packets dropped, when not nil.
	Dropped *atomic.Int64
	// Vanish, once set, drops everything the client sends: a client whose
	// network went away without a goodbye.
	Vanish *atomic.Bool
	// TCPOnly restricts the client to ICE-TCP, like a client behind a
	// firewall that blocks UDP.
	TCPOnly bool
}

// API returns a pion API for a client on loopback.
func API(o Options) (*webrtc.API, error) {
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelError
	se := webrtc.SettingEngine{LoggerFactory: logs}
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if o.TCPOnly {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	}
	if o.UplinkLoss > 0 || o.Vanish != nil {
		n, err := stdnet.NewNet()
		if err != nil {
			return nil, err
		}
		se.SetNet(&lossyNet{Net: n, loss: o.UplinkLoss, dropped: o.Dropped, vanish: o.Vanish})
	}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir)), nil
}

// lossyNet hands ICE sockets that drop outgoing RTP at random.
type lossyNet struct {
	*stdnet.Net
	loss    float64
	dropped *atomic.Int64
	vanish  *atomic.Bool
}

func (n *lossyNet) ListenUDP(network string, addr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, addr)
	if err != nil {
		return nil, err
	}
	return &lossyConn{UDPConn: c, net: n}, nil
}

func (n *lossyNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err != nil {
		return nil, err
	}
	if uc, ok := c.(transport.UDPConn); ok {
		return &lossyConn{UDPConn: uc, net: n}, nil
	}
	return c, nil
}

type lossyConn struct {
	transport.UDPConn
	net *lossyNet
}

// isRTP: RTP and RTCP share the first-byte range 128–191 (RFC 7983); RTCP
// packet types 192–223 sit in the second byte.
func isRTP(b []byte) bool {
	return len(b) > 1 && b[0] >= 128 && b[0] <= 191 && (b[1] < 192 || b[1] > 223)
}

func (c *lossyConn) drop(b []byte) bool {
	if c.net.vanish != nil && c.net.vanish.Load() {
		return true
	}
	if isRTP(b) && rand.Float64() < c.net.loss {
		if c.net.dropped != nil {
			c.net.dropped.Add(1)
		}
		return true
	}
	return false
}

func (c *lossyConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.drop(b) {
		return len(b), nil
	}
	return c.UDPConn.WriteTo(b, addr)
}

func (c *lossyConn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	if c.drop(b) {
		return len(b), nil
	}
	return c.UDPConn.WriteToUDP(b, addr)
}

// WaitFor polls cond until it holds, failing the test after d.
func WaitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// NewPeer makes a loopback client PeerConnection that the test closes when
// it ends.
func NewPeer(t testing.TB, o Options) *webrtc.PeerConnection {
	t.Helper()
	api, err := API(o)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}
