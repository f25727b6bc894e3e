//go:build !(linux && (amd64 || arm64))

package rawudp

import (
	"net"
	"net/netip"
)

// Conn is a socket's I/O; elsewhere than Linux, the net package's.
type Conn struct {
	conn *net.UDPConn
	buf  [8192]byte
}

// New takes over c's reads and writes.
func New(c *net.UDPConn) (*Conn, error) { return &Conn{conn: c}, nil }

// Next returns the next datagram, valid until the following call.
func (u *Conn) Next() ([]byte, netip.AddrPort, error) {
	n, addr, err := u.conn.ReadFromUDPAddrPort(u.buf[:])
	return u.buf[:n], addr, err
}

func (u *Conn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return u.conn.ReadFromUDPAddrPort(b)
}

func (u *Conn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return u.conn.WriteToUDPAddrPort(b, addr)
}

func (u *Conn) Close() error { return u.conn.Close() }

// Pending is always false here: datagrams are read one at a time.
func (u *Conn) Pending() bool { return false }
