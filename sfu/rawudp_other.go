//go:build !linux

package sfu

import (
	"net"
	"net/netip"
)

// rawUDP is the media socket's I/O; elsewhere than Linux, the net package's.
type rawUDP struct{ conn *net.UDPConn }

func newRawUDP(c *net.UDPConn) (*rawUDP, error) { return &rawUDP{conn: c}, nil }

func (u *rawUDP) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return u.conn.ReadFromUDPAddrPort(b)
}

func (u *rawUDP) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return u.conn.WriteToUDPAddrPort(b, addr)
}

func (u *rawUDP) Close() error { return u.conn.Close() }
