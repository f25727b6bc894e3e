package sfu

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"

	"github.com/trtcd/trtcd/internal/limit"
)

// firstSTUNTimeout: an ICE-TCP connection that has not sent its first STUN
// binding request by then is closed. A client sends it as soon as its
// connect completes (it opens the connection to run that very check), so a
// few seconds cover a congested link; pion's default of 30 s let every idle
// socket hold a descriptor and a goroutine six times as long.
const firstSTUNTimeout = 5 * time.Second

// DefaultICETCPLimits: a school behind one NAT address, every pupil on
// ICE-TCP (a network that blocks UDP), holds one connection each, as on
// the other listeners (limit.Default); 5000 in all is five such schools,
// far below the descriptors a process has.
var DefaultICETCPLimits = limit.Config{Total: 5000, Name: "ice_tcp"}.Or(limit.Default)

// listenICETCP opens the ICE-TCP listener behind a per-address gate, so
// that one address cannot hold every descriptor of the process with idle
// connections, and the mux that serves it. What a connection sends passes
// its session's screen in routes before pion reads it.
func listenICETCP(cfg TransportConfig, routes *routeTable, stun *stunLimit, logs logging.LoggerFactory) (net.Listener, ice.TCPMux, error) {
	raw, err := net.Listen("tcp4", cfg.TCPAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("sfu: listen ice-tcp %s: %w", cfg.TCPAddr, err)
	}
	gate := limit.NewGate(cfg.TCPPerAddress.Or(DefaultICETCPLimits))
	ln := gate.Listener(raw, nil) // refusals are counted in trtcd_refused_total{listener="ice_tcp"}
	mux := ice.NewTCPMuxDefault(ice.TCPMuxParams{
		Listener:             screenedListener{ln, routes, stun},
		Logger:               logs.NewLogger("ice-tcp"),
		ReadBufferSize:       tcpReadBuffer,
		FirstStunBindTimeout: cmp.Or(cfg.firstSTUNTimeout, firstSTUNTimeout),
	})
	return ln, mux, nil
}

// screenedListener hands pion connections whose packets pass their
// session's screen first.
type screenedListener struct {
	net.Listener
	routes *routeTable
	stun   *stunLimit // the sessions' screens by ufrag
}

func (l screenedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	from := netip.AddrPort{}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		from = a.AddrPort()
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	}
	return &screenedConn{Conn: c, routes: l.routes, stun: l.stun, from: from}, nil
}

// maxTCPFrame is the largest packet an ICE-TCP connection may carry:
// pion's own read buffer (its receiveMTU), which refuses a larger one too.
const maxTCPFrame = 8192

var errTCPFrameTooLarge = errors.New("sfu: ice-tcp packet over 8192 bytes")

// screenedConn reads an ICE-TCP connection packet by packet (RFC 4571: a
// 16-bit length before each) and gives pion's reads only those its
// session's screen lets through, framed as they came.
type screenedConn struct {
	net.Conn
	routes  *routeTable
	stun    *stunLimit
	from    netip.AddrPort
	ufrag   string // the session its first STUN request named
	frame   []byte // the packet being read, with its length; grown to the largest yet
	pending []byte // what of frame pion has yet to read
}

func (c *screenedConn) Read(p []byte) (int, error) {
	for len(c.pending) == 0 {
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// next reads one packet, keeping it for pion unless the screen drops it.
func (c *screenedConn) next() error {
	if c.frame == nil {
		c.frame = make([]byte, 2+1500) // an Ethernet MTU's packet; DTLS's larger ones grow it
	}
	if _, err := io.ReadFull(c.Conn, c.frame[:2]); err != nil {
		return err
	}
	n := int(binary.BigEndian.Uint16(c.frame))
	if n > maxTCPFrame {
		return errTCPFrameTooLarge
	}
	if len(c.frame) < 2+n {
		c.frame = append(c.frame[:2], make([]byte, n)...)
	}
	if _, err := io.ReadFull(c.Conn, c.frame[2:2+n]); err != nil {
		return err
	}
	if !c.drop(c.frame[2 : 2+n]) {
		c.pending = c.frame[:2+n]
	}
	return nil
}

// drop reports whether the screen of the connection's session drops a
// packet: its route's, or, on another connection of the session (pion
// takes media from any that passed a check), the session's.
func (c *screenedConn) drop(pkt []byte) bool {
	if c.ufrag == "" && isSTUN(pkt) {
		c.ufrag, _, _ = stunAttributes(pkt)
	}
	r := c.routes.lookup(c.from)
	if r == nil && c.ufrag != "" && c.stun != nil {
		r = c.stun.screenOfSession(c.ufrag)
	}
	return offer(r, pkt, nil)
}
