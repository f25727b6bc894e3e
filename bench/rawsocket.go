package bench

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trtcd/trtcd/internal/rawudp"
)

// rawSocket is one raw-engine session's UDP socket, in the engine's
// poller: the engine's goroutine reads it with the others on every tick.
// It is also the net.PacketConn pion's ICE UDP mux runs on, so pion
// connects the session (STUN, DTLS) on it; once the session has its SRTP
// keys, its SRTP and SRTCP datagrams go to the session's sink, on the
// engine's goroutine, and pion only gets the rest (ICE keepalives).
type rawSocket struct {
	sock  *rawudp.Socket
	local *net.UDPAddr
	sink  atomic.Pointer[mediaSink]
	toPion
}

// mediaSink takes a session's SRTP and SRTCP with the kernel's receive time.
type mediaSink func(d []byte, at time.Time)

// toPion queues the datagrams pion reads: few (STUN, DTLS), so each is
// copied.
type toPion struct {
	queue     chan pionDatagram
	muted     atomic.Bool
	closeOnce sync.Once
	closed    chan struct{}
}

type pionDatagram struct {
	b    []byte
	from netip.AddrPort
}

// pionQueue holds a DTLS flight or a burst of STUN checks; more is dropped
// as a full socket buffer would.
const pionQueue = 64

// rawReceiveBuffer holds a few ticks of a viewer's media at several Mbit/s.
const rawReceiveBuffer = 1 << 20

// listenRaw opens a session's socket on ip (loopback) at any port.
func listenRaw(p *rawudp.Poller, ip netip.Addr) (*rawSocket, error) {
	s := &rawSocket{toPion: toPion{queue: make(chan pionDatagram, pionQueue), closed: make(chan struct{})}}
	sock, err := p.Listen(ip, rawReceiveBuffer, s.arrived)
	if err != nil {
		return nil, err
	}
	s.sock, s.local = sock, net.UDPAddrFromAddrPort(sock.LocalAddr())
	return s, nil
}

// isSRTPOrSRTCP: RTP and RTCP share first bytes 128–191 (RFC 7983); STUN
// (0–3) and DTLS (20–63) stay with pion.
func isSRTPOrSRTCP(d []byte) bool { return len(d) >= 12 && d[0] >= 128 && d[0] <= 191 }

// isRTCP: RTCP's packet types 192–223 sit where RTP has its marker bit and
// payload type.
func isRTCP(d []byte) bool { return len(d) >= 8 && d[1] >= 192 && d[1] <= 223 }

// takeMedia sends the socket's SRTP and SRTCP to sink from now on.
func (s *rawSocket) takeMedia(sink mediaSink) { s.sink.Store(&sink) }

// arrived is the poller's handler: media to the sink, the rest to pion.
func (s *rawSocket) arrived(d []byte, from netip.AddrPort, at time.Time) {
	if sink := s.sink.Load(); sink != nil && isSRTPOrSRTCP(d) {
		(*sink)(d, at)
		return
	}
	if s.muted.Load() {
		return
	}
	select {
	case s.queue <- pionDatagram{b: append([]byte(nil), d...), from: from}:
	default:
	}
}

// mute stops handing datagrams to pion, and drops those waiting: once the
// PeerConnection is closed, pion's mux would log each as an error.
func (s *rawSocket) mute() {
	s.muted.Store(true)
	for {
		select {
		case <-s.queue:
		default:
			return
		}
	}
}

// ReadFromAddrPort implements ice.AddrPortReaderWriter for pion's mux.
func (s *rawSocket) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-s.queue:
		return copy(b, d.b), d.from, nil
	case <-s.closed:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

// ReadFrom implements net.PacketConn.
func (s *rawSocket) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := s.ReadFromAddrPort(b)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(addr), nil
}

// WriteToAddrPort implements ice.AddrPortReaderWriter.
func (s *rawSocket) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return s.sock.WriteTo(b, addr)
}

// WriteTo implements net.PacketConn.
func (s *rawSocket) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: net.InvalidAddrError("not a UDP address")}
	}
	return s.sock.WriteTo(b, ua.AddrPort())
}

// Close closes the socket and ends pion's reads.
func (s *rawSocket) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return s.sock.Close()
}

func (s *rawSocket) LocalAddr() net.Addr { return s.local }

// Deadlines: pion's mux reads until Close and never sets them.
func (s *rawSocket) SetDeadline(time.Time) error      { return nil }
func (s *rawSocket) SetReadDeadline(time.Time) error  { return nil }
func (s *rawSocket) SetWriteDeadline(time.Time) error { return nil }
