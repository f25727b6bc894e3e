package cluster

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/trtcd/trtcd/internal/rawudp"
)

// The relay's one UDP socket carries every QUIC connection of the node, the
// ones it accepts and the ones it dials. Its reads and writes go through
// package rawudp, as the media socket's do: each relayed packet is a
// datagram on both nodes, and on a server that idles between packets the
// net package's system-call entry wakes the runtime's monitor thread, which
// on the media socket cost more than forwarding the packet (BENCHMARKS.md).

// relaySocket is a net.PacketConn for quic-go over rawudp. It is not a
// *net.UDPConn, so quic-go reads one datagram per call (rawudp batches
// underneath) and does without GSO and ECN, which a node's relay traffic
// (small datagrams, few at a time) does not use much.
type relaySocket struct {
	conn  *net.UDPConn // address, buffers and deadlines; reads and writes go through raw
	raw   *rawudp.Conn
	addrs map[netip.AddrPort]*net.UDPAddr // the reader's: no address allocated per datagram
	media *mediaReceivers                 // sealed media datagrams go there, not to quic-go
}

// maxCachedAddrs bounds the reader's address cache (peers are few; a flood
// from many ports empties it each time it fills).
const maxCachedAddrs = 1024

// listenRelay opens the relay socket on addr: rawudp for IPv4, the net
// package's socket for an IPv6 address (which takes no sealed media: its
// peers send QUIC datagrams). Sealed media go to media.
func listenRelay(addr string, media *mediaReceivers) (net.PacketConn, error) {
	a, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	if a.IP != nil && a.IP.To4() == nil {
		return net.ListenUDP("udp", a)
	}
	c, err := net.ListenUDP("udp4", a)
	if err != nil {
		return nil, err
	}
	raw, err := rawudp.New(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	return &relaySocket{conn: c, raw: raw, addrs: map[netip.AddrPort]*net.UDPAddr{}, media: media}, nil
}

// ReadFrom implements net.PacketConn; one reader (quic-go's) at a time.
// It delivers sealed media itself and returns the next QUIC packet.
func (s *relaySocket) ReadFrom(b []byte) (int, net.Addr, error) {
	d, from, err := s.raw.Next()
	for err == nil && isMedia(d) {
		s.media.deliver(d)
		d, from, err = s.raw.Next()
	}
	if err != nil {
		return 0, nil, err
	}
	a := s.addrs[from]
	if a == nil {
		a = net.UDPAddrFromAddrPort(from)
		if len(s.addrs) >= maxCachedAddrs {
			clear(s.addrs) // a spray of sources filled it: start again, so the peers get back in
		}
		s.addrs[from] = a
	}
	return copy(b, d), a, nil
}

// WriteTo implements net.PacketConn. A full send buffer waits in the
// network poller (quic-go takes a failed write for a dead connection).
func (s *relaySocket) WriteTo(b []byte, addr net.Addr) (int, error) {
	if a, ok := addr.(*net.UDPAddr); ok {
		n, err := s.raw.WriteToAddrPort(b, a.AddrPort())
		if !errors.Is(err, syscall.EAGAIN) {
			return n, err
		}
	}
	return s.conn.WriteTo(b, addr)
}

// Close implements net.PacketConn.
func (s *relaySocket) Close() error { return s.raw.Close() }

// What quic-go asks of the socket besides reads and writes: addresses,
// deadlines (to end its reader), buffers and the don't-fragment option. Not
// ReadMsgUDP and WriteMsgUDP: with them quic-go would take the socket for a
// plain UDP socket and do its own reads and writes.
func (s *relaySocket) LocalAddr() net.Addr                   { return s.conn.LocalAddr() }
func (s *relaySocket) SetDeadline(t time.Time) error         { return s.conn.SetDeadline(t) }
func (s *relaySocket) SetReadDeadline(t time.Time) error     { return s.conn.SetReadDeadline(t) }
func (s *relaySocket) SetWriteDeadline(t time.Time) error    { return s.conn.SetWriteDeadline(t) }
func (s *relaySocket) SetReadBuffer(n int) error             { return s.conn.SetReadBuffer(n) }
func (s *relaySocket) SetWriteBuffer(n int) error            { return s.conn.SetWriteBuffer(n) }
func (s *relaySocket) SyscallConn() (syscall.RawConn, error) { return s.conn.SyscallConn() }

// relayTransport is the node's QUIC endpoint on the relay socket.
func relayTransport(addr string, media *mediaReceivers) (*quic.Transport, error) {
	c, err := listenRelay(addr, media)
	if err != nil {
		return nil, err
	}
	return &quic.Transport{Conn: c}, nil
}

// closeTransport closes the relay's QUIC endpoint and its socket (which
// quic-go leaves open when it did not create it).
func closeTransport(tr *quic.Transport) {
	tr.Close()
	tr.Conn.Close()
}
