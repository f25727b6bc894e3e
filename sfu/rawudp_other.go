//go:build !(linux && (amd64 || arm64))

package sfu

import (
	"net"
	"net/netip"
)

// rawUDP is the media socket's I/O; elsewhere than Linux, the net package's.
type rawUDP struct {
	conn *net.UDPConn
	buf  [8192]byte
}

func newRawUDP(c *net.UDPConn) (*rawUDP, error) { return &rawUDP{conn: c}, nil }

// nextDatagram returns the next datagram, valid until the following call.
func (u *rawUDP) nextDatagram() ([]byte, netip.AddrPort, error) {
	n, addr, err := u.conn.ReadFromUDPAddrPort(u.buf[:])
	return u.buf[:n], addr, err
}

func (u *rawUDP) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return u.conn.ReadFromUDPAddrPort(b)
}

func (u *rawUDP) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return u.conn.WriteToUDPAddrPort(b, addr)
}

func (u *rawUDP) Close() error { return u.conn.Close() }
