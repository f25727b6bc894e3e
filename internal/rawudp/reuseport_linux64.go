//go:build linux && (amd64 || arm64)

package rawudp

import (
	"context"
	"fmt"
	"net"
	"syscall"
)

// soReusePort is SO_REUSEPORT on amd64 and arm64 Linux (the syscall
// package does not name it).
const soReusePort = 0xf

// ListenShared binds n UDP sockets to one address with SO_REUSEPORT: the
// kernel hashes each remote address and port to one of them, so a peer's
// datagrams always arrive on the same socket, and a datagram sent from any
// of them leaves from the shared port.
//
// The first is bound before it allows sharing, so the port is ours alone:
// a port another process shares is refused, not joined, and port 0 gets a
// free port (a bind to port 0 that allows sharing may be given a port
// another process of the same user shares), to which the others are bound.
func ListenShared(network, address string, n int) ([]*net.UDPConn, error) {
	if n <= 1 {
		return listenOne(network, address)
	}
	first, err := listenOne(network, address)
	if err != nil {
		return nil, err
	}
	conns := first
	fail := func(err error) ([]*net.UDPConn, error) {
		for _, c := range conns {
			c.Close()
		}
		return nil, fmt.Errorf("socket %d of %d on %s: %w", len(conns)+1, n, address, err)
	}
	rc, err := first[0].SyscallConn()
	if err != nil {
		return fail(err)
	}
	if err := reusePort(rc); err != nil {
		return fail(err)
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error { return reusePort(rc) }}
	address = first[0].LocalAddr().String()
	for len(conns) < n {
		pc, err := lc.ListenPacket(context.Background(), network, address)
		if err != nil {
			return fail(err)
		}
		conns = append(conns, pc.(*net.UDPConn))
	}
	return conns, nil
}

func reusePort(rc syscall.RawConn) error {
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
	}); err != nil {
		return err
	}
	return serr
}
