// Package peer builds real pion WebRTC clients for the bench and the tests:
// loopback only, with the default codecs and interceptors a stock pion
// client has, optionally behind a lossy uplink or on another loopback
// address, and a synthetic H.264 + Opus source with a realistic frame
// pattern. It returns errors rather than failing a test, so `trtcd bench`
// can link it without linking package testing; internal/testpeer wraps it
// for tests.
package peer

import (
	"errors"
	"math/rand/v2"
	"net"
	"sync/atomic"

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
	// From, when set, is the loopback address (127.0.0.2, …) the client's
	// candidates and sockets are on, so that a server counts it apart from
	// the clients on 127.0.0.1.
	From net.IP
	// Silent turns pion's logging off, errors included: a hostile
	// client's own complaints are not the server's.
	Silent bool
}

// API returns a pion API for a client on loopback.
func API(o Options) (*webrtc.API, error) {
	se, err := settings(o)
	if err != nil {
		return nil, err
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

// settings: loopback only, no mDNS, UDP (or TCP) over IPv4.
func settings(o Options) (webrtc.SettingEngine, error) {
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelError
	if o.Silent {
		logs.DefaultLogLevel = logging.LogLevelDisabled
	}
	se := webrtc.SettingEngine{LoggerFactory: logs}
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if o.TCPOnly {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	}
	n, err := clientNet(o)
	if err != nil {
		return se, err
	}
	if n != nil {
		se.SetNet(n)
	}
	return se, nil
}

// clientNet is the network the options ask for, nil for the host's own.
func clientNet(o Options) (transport.Net, error) {
	lossy := o.UplinkLoss > 0 || o.Vanish != nil
	if o.From == nil && !lossy {
		return nil, nil
	}
	std, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	var n transport.Net = std
	if o.From != nil {
		n = onAddress(std, o.From)
	}
	if lossy {
		n = &lossyNet{Net: n, loss: o.UplinkLoss, dropped: o.Dropped, vanish: o.Vanish}
	}
	return n, nil
}

// addressNet is the network a client on another loopback address sees:
// one interface holding that address, so that its candidates and sockets
// are there.
type addressNet struct {
	*stdnet.Net
	ifc *transport.Interface
}

func onAddress(n *stdnet.Net, ip net.IP) *addressNet {
	ifc := transport.NewInterface(net.Interface{Index: 1, MTU: 65536, Name: "lo", Flags: net.FlagUp | net.FlagLoopback | net.FlagRunning})
	ifc.AddAddress(&net.IPNet{IP: ip.To4(), Mask: net.CIDRMask(8, 32)})
	return &addressNet{Net: n, ifc: ifc}
}

var errNoInterface = errors.New("peer: no such interface")

func (n *addressNet) Interfaces() ([]*transport.Interface, error) {
	return []*transport.Interface{n.ifc}, nil
}

func (n *addressNet) InterfaceByIndex(i int) (*transport.Interface, error) {
	if i == n.ifc.Index {
		return n.ifc, nil
	}
	return nil, errNoInterface
}

func (n *addressNet) InterfaceByName(name string) (*transport.Interface, error) {
	if name == n.ifc.Name {
		return n.ifc, nil
	}
	return nil, errNoInterface
}

// lossyNet hands ICE sockets that drop outgoing RTP at random.
type lossyNet struct {
	transport.Net
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
