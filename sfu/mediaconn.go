package sfu

import (
	"maps"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/rawudp"
)

// mediaConn is the UDP port all WebRTC media uses, served by one socket or
// by several bound to it with SO_REUSEPORT (workers, mediaworkers.go).
// pion's ICE UDP mux reads it through ReadFromAddrPort; before a packet
// goes to pion it is offered, if it is SRTP from a publisher on the fast
// path, to that publisher's route, which decrypts and forwards it on the
// reading goroutine. Everything else (STUN, DTLS, RTCP, media of sessions
// not yet on the fast path) goes to pion as before.
type mediaConn struct {
	*net.UDPConn // the first socket: address, buffers and deadlines; reads and writes go through socks
	socks        []*rawudp.Conn
	outbox       *outbox // the one socket's, for pion's reader goroutine
	*routeTable
	stun    *stunLimit
	workers // reader goroutines when there are several sockets
}

// route takes the SRTP packets of one remote address; false means "not
// mine", and the packet goes to pion. Its sends go to ob. dropRTCP
// reports whether an SRTCP packet from the address is dropped here
// (rtcpguard.go), dropDTLS whether a DTLS record is (screen.go).
type route interface {
	handle(b []byte, ob *outbox) bool
	dropRTCP(b []byte) bool
	dropDTLS(b []byte) bool
}

// newMediaConn serves one port's sockets (all bound to it); with more than
// one, each gets its reader goroutine at once. STUN is limited to stun.
// seen, when set (tests), is told which worker read each datagram that
// goes to pion.
func newMediaConn(conns []*net.UDPConn, stun limit.Config, seen func(worker int, addr netip.AddrPort)) (*mediaConn, error) {
	m := &mediaConn{UDPConn: conns[0], routeTable: newRouteTable(), stun: newSTUNLimit(stun)}
	for _, c := range conns {
		raw, err := rawudp.New(c)
		if err != nil {
			return nil, err
		}
		m.socks = append(m.socks, raw)
	}
	if len(m.socks) > 1 {
		m.startWorkers(seen)
	} else {
		m.outbox = newOutbox(m.socks[0])
	}
	return m, nil
}

// isRTP: RTP and RTCP share first bytes 128–191 (RFC 7983); RTCP's packet
// types 192–223 sit in the second byte (marker bit and payload type for RTP).
func isRTP(b []byte) bool {
	return len(b) >= 12 && b[0] >= 128 && b[0] <= 191 && (b[1] < 192 || b[1] > 223)
}

// fast offers a datagram to the fast path: true when it was dealt with
// here, taken by a route, or dropped as RTCP naming too many streams, a
// connected session's DTLS record that pion would keep (lateDTLS), or
// STUN over its limit; false sends it to pion. What the route sends waits
// in ob until sock has no datagram left to read.
func (m *mediaConn) fast(d []byte, addr netip.AddrPort, sock *rawudp.Conn, ob *outbox) bool {
	handled := false
	switch {
	case isRTP(d), isRTCP(d), isDTLS(d):
		handled = offer(m.routeOf(addr), d, ob)
	case isSTUN(d):
		handled = !m.stun.allow(d, addr)
	}
	if !handled || !sock.Pending() {
		ob.flush()
	}
	return handled
}

// routeOf is addr's route or, for another address of a connected session
// (pion takes media from any address that passed a check), its screen.
func (m *mediaConn) routeOf(addr netip.AddrPort) route {
	if r := m.lookup(addr); r != nil {
		return r
	}
	return m.stun.screenOfSource(addr)
}

// offer gives a session's packet to its route r, if it has one: true when
// the route took it (a fast-path publisher's RTP) or dropped it; false
// leaves it to pion. UDP and ICE-TCP alike.
func offer(r route, d []byte, ob *outbox) bool {
	switch {
	case r == nil:
		return false
	case isRTP(d):
		return r.handle(d, ob)
	case isRTCP(d):
		return r.dropRTCP(d)
	case isDTLS(d):
		return r.dropDTLS(d)
	}
	return false
}

// ReadFromAddrPort implements ice.AddrPortReaderWriter. With one socket,
// pion's goroutine reads it and runs the fast path itself; with several,
// it takes what the workers leave for it.
func (m *mediaConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	if len(m.socks) > 1 {
		return m.readLeftover(b)
	}
	for {
		d, addr, err := m.socks[0].Next()
		if err != nil || !m.fast(d, addr, m.socks[0], m.outbox) {
			return copy(b, d), addr, err
		}
	}
}

// sender is the socket a subscriber's fast-path packets are sent from:
// any socket on the port will do (the datagram leaves from the shared
// port), and spreading subscribers over them spreads the kernel's
// per-socket accounting. The goroutine that forwards the packet sends it.
func (m *mediaConn) sender(addr netip.AddrPort) *rawudp.Conn {
	if len(m.socks) == 1 {
		return m.socks[0]
	}
	a := addr.Addr().As16()
	h := uint(addr.Port()) ^ uint(a[12])<<24 ^ uint(a[13])<<16 ^ uint(a[14])<<8 ^ uint(a[15])
	return m.socks[h%uint(len(m.socks))]
}

// WriteToAddrPort implements ice.AddrPortReaderWriter.
func (m *mediaConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return m.sender(addr).WriteToAddrPort(b, addr)
}

// WriteTo keeps net.PacketConn callers on the same path.
func (m *mediaConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: net.InvalidAddrError("not a UDP address")}
	}
	return m.WriteToAddrPort(b, ua.AddrPort())
}

// Close waits for writes in flight and the workers, and closes the
// sockets. pion's mux closes it, then the transport: the second call
// reports net.ErrClosed.
func (m *mediaConn) Close() error {
	err := error(net.ErrClosed)
	m.closing.Do(func() {
		err = nil
		if m.done != nil {
			close(m.done)
		}
		for _, s := range m.socks {
			if e := s.Close(); e != nil && err == nil {
				err = e
			}
		}
		m.readers.Wait()
	})
	return err
}

// ReadFrom keeps net.PacketConn callers on the same path.
func (m *mediaConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := m.ReadFromAddrPort(b)
	return n, net.UDPAddrFromAddrPort(addr), err
}

// routeTable maps remote addresses to routes: the media port's by UDP
// address, ICE-TCP's by the connection's remote address. Readers look up
// without a lock; changes copy the map.
type routeTable struct {
	mu     sync.Mutex // serialises changes
	routes atomic.Pointer[map[netip.AddrPort]route]
}

func newRouteTable() *routeTable {
	t := &routeTable{}
	t.routes.Store(&map[netip.AddrPort]route{})
	return t
}

// lookup is addr's route, or nil.
func (t *routeTable) lookup(addr netip.AddrPort) route { return (*t.routes.Load())[addr] }

// setRoute installs a route for addr; false when another route has it.
func (t *routeTable) setRoute(addr netip.AddrPort, r route) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.routes.Load()
	if cur, ok := old[addr]; ok && cur != r {
		return false
	}
	t.swap(old, func(next map[netip.AddrPort]route) { next[addr] = r })
	return true
}

// removeRoute removes addr's route if it is still r.
func (t *routeTable) removeRoute(addr netip.AddrPort, r route) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.routes.Load()
	if old[addr] != r {
		return
	}
	t.swap(old, func(next map[netip.AddrPort]route) { delete(next, addr) })
}

// swap publishes a changed copy of the routes. Callers hold mu.
func (t *routeTable) swap(old map[netip.AddrPort]route, change func(map[netip.AddrPort]route)) {
	next := maps.Clone(old)
	change(next)
	t.routes.Store(&next)
}
