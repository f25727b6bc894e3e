//go:build linux

package sfu

import (
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// rawUDP reads and writes the media socket with recvfrom and sendto issued
// directly, MSG_DONTWAIT, as raw system calls. Two reasons, both measured
// (BENCHMARKS.md, "trtcd against stock pion forwarding"):
//   - a raw call does not go through the scheduler's system-call entry,
//     whose first use after an idle spell wakes the runtime's monitor
//     thread; on a server that goes idle between packets (every 1v1 room at
//     400–800 kbps does) that wake-up cost more CPU than forwarding the
//     packet;
//   - no address is allocated per packet.
//
// Neither call can block, so nothing is lost by skipping the scheduler: when
// the socket is empty the read waits in the network poller as usual. IPv4
// only, as the media socket is.
type rawUDP struct {
	conn *net.UDPConn
	rc   syscall.RawConn
	fd   uintptr

	// The reader's state: pion's UDP mux has exactly one reader goroutine.
	rbuf   []byte
	rn     int
	rfrom  syscall.RawSockaddrInet4
	rerr   syscall.Errno
	readFn func(fd uintptr) bool

	// writers counts sendto calls in flight so that Close never frees the
	// descriptor under one (a reused number would send media elsewhere).
	writers atomic.Int64
	closed  atomic.Bool
}

func newRawUDP(c *net.UDPConn) (*rawUDP, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	u := &rawUDP{conn: c, rc: rc}
	if err := rc.Control(func(fd uintptr) { u.fd = fd }); err != nil {
		return nil, err
	}
	u.readFn = u.recv
	return u, nil
}

// recv is the RawConn.Read callback: false sends the goroutine to the
// network poller until the socket is readable.
func (u *rawUDP) recv(fd uintptr) bool {
	for {
		size := uint32(unsafe.Sizeof(u.rfrom))
		n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd,
			uintptr(unsafe.Pointer(unsafe.SliceData(u.rbuf))), uintptr(len(u.rbuf)), syscall.MSG_DONTWAIT,
			uintptr(unsafe.Pointer(&u.rfrom)), uintptr(unsafe.Pointer(&size)))
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		u.rn, u.rerr = int(n), errno
		return true
	}
}

// ReadFromAddrPort reads one datagram; one goroutine at a time.
func (u *rawUDP) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	if len(b) == 0 {
		return 0, netip.AddrPort{}, nil
	}
	u.rbuf = b
	err := u.rc.Read(u.readFn)
	u.rbuf = nil
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	if u.rerr != 0 {
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Err: u.rerr}
	}
	port := uint16(u.rfrom.Port>>8) | uint16(u.rfrom.Port<<8) // network byte order
	return u.rn, netip.AddrPortFrom(netip.AddrFrom4(u.rfrom.Addr), port), nil
}

// WriteToAddrPort sends one datagram; a full send buffer drops it (EAGAIN),
// as a router would, instead of stalling the forwarding goroutine.
func (u *rawUDP) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	ip := addr.Addr().Unmap()
	if !ip.Is4() {
		return 0, &net.OpError{Op: "write", Net: "udp4", Err: net.InvalidAddrError("not an IPv4 address")}
	}
	to := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: ip.As4()}
	to.Port = addr.Port()>>8 | addr.Port()<<8
	u.writers.Add(1)
	defer u.writers.Add(-1)
	if u.closed.Load() {
		return 0, net.ErrClosed
	}
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, u.fd,
			uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), syscall.MSG_DONTWAIT,
			uintptr(unsafe.Pointer(&to)), unsafe.Sizeof(to))
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return 0, &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(addr), Err: errno}
		}
		return int(n), nil
	}
}

// Close waits for sends in flight, then closes the socket (which ends a
// read waiting in the poller).
func (u *rawUDP) Close() error {
	if u.closed.Swap(true) {
		return net.ErrClosed
	}
	for u.writers.Load() != 0 {
		runtime.Gosched()
	}
	return u.conn.Close()
}
