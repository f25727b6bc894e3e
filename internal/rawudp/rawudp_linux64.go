//go:build linux && (amd64 || arm64)

// Package rawudp reads and writes a UDP socket with raw, non-blocking
// system calls: trtcd's media socket (package sfu) and its cluster relay's
// socket (package cluster) go through it.
package rawudp

import (
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Conn reads and writes a socket with recvmmsg and sendto issued
// directly, MSG_DONTWAIT, as raw system calls. Three reasons, all measured
// (BENCHMARKS.md, "trtcd against stock pion forwarding"):
//   - a raw call does not go through the scheduler's system-call entry,
//     whose first use after an idle spell wakes the runtime's monitor
//     thread; on a server that goes idle between packets (every 1v1 room at
//     400–800 kbps does) that wake-up cost more CPU than forwarding the
//     packet;
//   - one recvmmsg takes every datagram waiting (up to a batch);
//   - no address is allocated per packet.
//
// Neither call can block, so nothing is lost by skipping the scheduler: when
// the socket is empty the reader waits in the network poller as usual. IPv4
// only, as trtcd's sockets are.
type Conn struct {
	conn *net.UDPConn
	rc   syscall.RawConn
	fd   uintptr

	// The reader's batch: one reader goroutine at a time.
	msgs   [readBatch]mmsghdr
	iovs   [readBatch]syscall.Iovec
	froms  [readBatch]syscall.RawSockaddrInet4
	bufs   *[readBatch][datagramSize]byte
	next   int // the batch's next unread datagram
	count  int // datagrams in the batch
	rerr   syscall.Errno
	readFn func(fd uintptr) bool

	// writers counts sendto calls in flight so that Close never frees the
	// descriptor under one (a reused number would send media elsewhere).
	writers atomic.Int64
	closed  atomic.Bool
}

const (
	readBatch = 16
	// datagramSize holds any datagram WebRTC or QUIC sends (pion reads 8 KB too);
	// a longer one arrives truncated and is dropped.
	datagramSize = 8192
)

// mmsghdr is struct mmsghdr on 64-bit Linux.
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

// New takes over c's reads and writes (c still sets buffers and deadlines).
func New(c *net.UDPConn) (*Conn, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	u := &Conn{conn: c, rc: rc, bufs: new([readBatch][datagramSize]byte)}
	if err := rc.Control(func(fd uintptr) { u.fd = fd }); err != nil {
		return nil, err
	}
	for i := range u.msgs {
		u.iovs[i].Base = &u.bufs[i][0]
		u.iovs[i].SetLen(datagramSize)
		u.msgs[i].hdr.Iov = &u.iovs[i]
		u.msgs[i].hdr.Iovlen = 1
		u.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&u.froms[i]))
	}
	u.readFn = u.recv
	return u, nil
}

// recv is the RawConn.Read callback: false sends the goroutine to the
// network poller until the socket is readable. It always tries the socket
// first: RawConn.Read forgets a readiness the poller saw before it was
// called, so a reader that went to wait on the strength of an earlier short
// batch would miss a datagram that arrived since, until the next one came.
func (u *Conn) recv(fd uintptr) bool {
	for i := range u.msgs {
		u.msgs[i].hdr.Namelen = uint32(unsafe.Sizeof(u.froms[i]))
		u.msgs[i].hdr.Flags = 0
	}
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVMMSG, fd,
			uintptr(unsafe.Pointer(&u.msgs[0])), readBatch, syscall.MSG_DONTWAIT, 0, 0)
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			u.next, u.count = 0, int(n)
		default:
			u.rerr = errno
		}
		return true
	}
}

// Next returns the next datagram read, valid until the following
// call; one goroutine at a time.
func (u *Conn) Next() ([]byte, netip.AddrPort, error) {
	for {
		for u.next < u.count {
			i := u.next
			u.next++
			m := &u.msgs[i]
			if m.hdr.Flags&syscall.MSG_TRUNC != 0 {
				continue // longer than any WebRTC datagram: not worth a partial read
			}
			from := &u.froms[i]
			port := from.Port>>8 | from.Port<<8 // network byte order
			return u.bufs[i][:m.n], netip.AddrPortFrom(netip.AddrFrom4(from.Addr), port), nil
		}
		if err := u.rc.Read(u.readFn); err != nil {
			return nil, netip.AddrPort{}, err
		}
		if u.rerr != 0 {
			err := u.rerr
			u.rerr = 0
			return nil, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Err: err}
		}
	}
}

// Pending says whether datagrams already read are waiting for Next: false
// means the next call goes to the socket (and may wait there).
func (u *Conn) Pending() bool { return u.next < u.count }

// ReadFromAddrPort reads one datagram into b; one goroutine at a time.
func (u *Conn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	d, addr, err := u.Next()
	return copy(b, d), addr, err
}

// WriteToAddrPort sends one datagram; a full send buffer drops it (EAGAIN),
// as a router would, instead of stalling the forwarding goroutine.
func (u *Conn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	u.writers.Add(1)
	defer u.writers.Add(-1)
	if u.closed.Load() {
		return 0, net.ErrClosed
	}
	return sendTo(u.fd, b, addr)
}

// sendTo sends one datagram on fd without waiting: a full send buffer
// fails with EAGAIN.
func sendTo(fd uintptr, b []byte, addr netip.AddrPort) (int, error) {
	ip := addr.Addr().Unmap()
	if !ip.Is4() {
		return 0, &net.OpError{Op: "write", Net: "udp4", Err: net.InvalidAddrError("not an IPv4 address")}
	}
	to := sockaddr4(addr)
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, fd,
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
func (u *Conn) Close() error {
	if u.closed.Swap(true) {
		return net.ErrClosed
	}
	for u.writers.Load() != 0 {
		runtime.Gosched()
	}
	return u.conn.Close()
}
