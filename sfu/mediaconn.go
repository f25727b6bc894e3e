package sfu

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/trtcd/trtcd/internal/rawudp"
)

// mediaConn is the one UDP socket all WebRTC media uses. pion's ICE UDP mux
// reads it through ReadFromAddrPort; before handing a packet to pion it
// offers SRTP from a publisher on the fast path to that publisher's route,
// which decrypts and forwards it on this very goroutine. Everything else
// (STUN, DTLS, RTCP, media of sessions not yet on the fast path) goes to
// pion as before.
type mediaConn struct {
	*net.UDPConn // address, buffers and deadlines; reads and writes go through raw
	raw          *rawudp.Conn
	routesMu     sync.Mutex // serialises route changes
	routes       atomic.Pointer[map[netip.AddrPort]route]
}

// route takes the SRTP packets of one remote address; false means "not
// mine", and the packet goes to pion.
type route interface {
	handle(b []byte) bool
}

func newMediaConn(c *net.UDPConn) (*mediaConn, error) {
	raw, err := rawudp.New(c)
	if err != nil {
		return nil, err
	}
	m := &mediaConn{UDPConn: c, raw: raw}
	m.routes.Store(&map[netip.AddrPort]route{})
	return m, nil
}

// isRTP: RTP and RTCP share first bytes 128–191 (RFC 7983); RTCP's packet
// types 192–223 sit in the second byte (marker bit and payload type for RTP).
func isRTP(b []byte) bool {
	return len(b) >= 12 && b[0] >= 128 && b[0] <= 191 && (b[1] < 192 || b[1] > 223)
}

// ReadFromAddrPort implements ice.AddrPortReaderWriter.
func (m *mediaConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		d, addr, err := m.raw.Next()
		if err != nil || !isRTP(d) {
			return copy(b, d), addr, err
		}
		if r := (*m.routes.Load())[addr]; r == nil || !r.handle(d) {
			return copy(b, d), addr, nil
		}
	}
}

// WriteToAddrPort implements ice.AddrPortReaderWriter.
func (m *mediaConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return m.raw.WriteToAddrPort(b, addr)
}

// WriteTo keeps net.PacketConn callers on the same path.
func (m *mediaConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: net.InvalidAddrError("not a UDP address")}
	}
	return m.raw.WriteToAddrPort(b, ua.AddrPort())
}

// Close waits for writes in flight and closes the socket.
func (m *mediaConn) Close() error { return m.raw.Close() }

// ReadFrom keeps net.PacketConn callers on the same path.
func (m *mediaConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := m.ReadFromAddrPort(b)
	return n, net.UDPAddrFromAddrPort(addr), err
}

// setRoute installs a route for addr; false when another route has it.
func (m *mediaConn) setRoute(addr netip.AddrPort, r route) bool {
	m.routesMu.Lock()
	defer m.routesMu.Unlock()
	old := *m.routes.Load()
	if cur, ok := old[addr]; ok && cur != r {
		return false
	}
	m.swapRoutes(old, func(next map[netip.AddrPort]route) { next[addr] = r })
	return true
}

// removeRoute removes addr's route if it is still r.
func (m *mediaConn) removeRoute(addr netip.AddrPort, r route) {
	m.routesMu.Lock()
	defer m.routesMu.Unlock()
	old := *m.routes.Load()
	if old[addr] != r {
		return
	}
	m.swapRoutes(old, func(next map[netip.AddrPort]route) { delete(next, addr) })
}

// swapRoutes publishes a changed copy of the routes (copy-on-write: the
// reader never locks). Callers hold routesMu.
func (m *mediaConn) swapRoutes(old map[netip.AddrPort]route, change func(map[netip.AddrPort]route)) {
	next := make(map[netip.AddrPort]route, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	change(next)
	m.routes.Store(&next)
}
