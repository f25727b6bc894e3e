//go:build linux && (amd64 || arm64)

package rawudp

import (
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Poller reads many UDP sockets from one goroutine, without the Go
// network poller: its sockets are non-blocking descriptors in its own
// level-triggered epoll set, and Poll reads whatever is waiting on all of
// them with recvmmsg, then returns. A caller that polls on a timer (a load
// generator with hundreds of sockets) so wakes once per tick rather than
// once per datagram per socket, which at a few thousand datagrams a second
// is most of the CPU. Each datagram comes with the kernel's receive time
// (SO_TIMESTAMPNS), so polling late does not skew a latency measurement.
type Poller struct {
	epfd   int
	mu     sync.Mutex // held by Poll, and to add or close a socket
	socks  map[int32]*Socket
	events [64]syscall.EpollEvent

	// The read batch.
	msgs  [readBatch]mmsghdr
	iovs  [readBatch]syscall.Iovec
	froms [readBatch]syscall.RawSockaddrInet4
	ctrl  [readBatch][controlSize]byte
	bufs  *[readBatch][datagramSize]byte
}

// Handler takes one datagram read from a socket, valid until it returns,
// with the sender's address and the kernel's receive time.
type Handler func(d []byte, from netip.AddrPort, at time.Time)

// Socket is a UDP socket in a Poller.
type Socket struct {
	fd      int
	local   netip.AddrPort
	poller  *Poller
	handler Handler
	mu      sync.RWMutex // writes hold it shared; Close exclusively
	closed  bool
}

// controlSize holds one SCM_TIMESTAMPNS message: a cmsghdr and a timespec.
const controlSize = 64

// NewPoller makes an empty poller.
func NewPoller() (*Poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	p := &Poller{epfd: epfd, socks: map[int32]*Socket{}, bufs: new([readBatch][datagramSize]byte)}
	for i := range p.msgs {
		p.iovs[i].Base = &p.bufs[i][0]
		p.iovs[i].SetLen(datagramSize)
		p.msgs[i].hdr.Iov = &p.iovs[i]
		p.msgs[i].hdr.Iovlen = 1
		p.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&p.froms[i]))
		p.msgs[i].hdr.Control = &p.ctrl[i][0]
	}
	return p, nil
}

// Listen opens a socket bound to ip at a free port, with a receive buffer
// of rcvbuf bytes; Poll hands what arrives on it to h.
func (p *Poller) Listen(ip netip.Addr, rcvbuf int, h Handler) (*Socket, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	s := &Socket{fd: fd, poller: p, handler: h}
	if err := s.setUp(ip.Unmap().As4(), rcvbuf); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	p.socks[int32(fd)] = s
	return s, nil
}

func (s *Socket) setUp(ip [4]byte, rcvbuf int) error {
	if err := syscall.SetsockoptInt(s.fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf); err != nil {
		return err
	}
	if err := syscall.SetsockoptInt(s.fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		return err
	}
	if err := syscall.Bind(s.fd, &syscall.SockaddrInet4{Addr: ip}); err != nil {
		return err
	}
	sa, err := syscall.Getsockname(s.fd)
	if err != nil {
		return err
	}
	in := sa.(*syscall.SockaddrInet4)
	s.local = netip.AddrPortFrom(netip.AddrFrom4(in.Addr), uint16(in.Port))
	return nil
}

// LocalAddr is the address the socket is bound to.
func (s *Socket) LocalAddr() netip.AddrPort { return s.local }

// Poll reads every datagram waiting on the poller's sockets and hands each
// to its socket's handler; it never blocks. One goroutine at a time.
func (p *Poller) Poll() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(p.epfd),
			uintptr(unsafe.Pointer(&p.events[0])), uintptr(len(p.events)), 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return &net.OpError{Op: "poll", Net: "udp", Err: errno}
		}
		for _, ev := range p.events[:n] {
			if s := p.socks[ev.Fd]; s != nil {
				p.drain(s)
			}
		}
		if int(n) < len(p.events) {
			return nil
		}
	}
}

// drain reads a socket until it is empty.
func (p *Poller) drain(s *Socket) {
	for {
		for i := range p.msgs {
			p.msgs[i].hdr.Namelen = uint32(unsafe.Sizeof(p.froms[i]))
			p.msgs[i].hdr.SetControllen(controlSize)
			p.msgs[i].hdr.Flags = 0
		}
		n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVMMSG, uintptr(s.fd),
			uintptr(unsafe.Pointer(&p.msgs[0])), readBatch, syscall.MSG_DONTWAIT, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 || n == 0 {
			return // EAGAIN: empty
		}
		for i := range int(n) {
			p.deliver(s, i)
		}
		if int(n) < readBatch {
			return
		}
	}
}

// deliver hands the batch's datagram i to the socket's handler.
func (p *Poller) deliver(s *Socket, i int) {
	m := &p.msgs[i]
	if m.hdr.Flags&syscall.MSG_TRUNC != 0 {
		return // longer than any WebRTC datagram
	}
	from := &p.froms[i]
	port := from.Port>>8 | from.Port<<8 // network byte order
	at := receiveTime(p.ctrl[i][:m.hdr.Controllen])
	s.handler(p.bufs[i][:m.n], netip.AddrPortFrom(netip.AddrFrom4(from.Addr), port), at)
}

// receiveTime reads SCM_TIMESTAMPNS from a message's control data; now
// when it is missing.
func receiveTime(ctrl []byte) time.Time {
	const hdr = int(unsafe.Sizeof(syscall.Cmsghdr{}))
	for len(ctrl) >= hdr {
		c := (*syscall.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
		if int(c.Len) < hdr || int(c.Len) > len(ctrl) {
			break
		}
		if c.Level == syscall.SOL_SOCKET && c.Type == syscall.SCM_TIMESTAMPNS && int(c.Len) >= hdr+16 {
			ts := (*syscall.Timespec)(unsafe.Pointer(&ctrl[hdr]))
			return time.Unix(ts.Sec, ts.Nsec)
		}
		next := (int(c.Len) + 7) &^ 7 // CMSG_ALIGN
		if next >= len(ctrl) {
			break
		}
		ctrl = ctrl[next:]
	}
	return time.Now()
}

// WriteTo sends one datagram; a full send buffer drops it.
func (s *Socket) WriteTo(b []byte, addr netip.AddrPort) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, net.ErrClosed
	}
	return sendTo(uintptr(s.fd), b, addr)
}

// WriteBatch sends the batch with sendmmsg and empties it.
func (s *Socket) WriteBatch(b *Batch) (int, error) {
	defer b.Reset()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, net.ErrClosed
	}
	return sendBatch(uintptr(s.fd), b)
}

// Close removes the socket from its poller (after a Poll in progress) and
// closes it (after the writes in progress).
func (s *Socket) Close() error {
	p := s.poller
	p.mu.Lock()
	if p.socks[int32(s.fd)] == s {
		delete(p.socks, int32(s.fd))
		syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, s.fd, nil)
	}
	p.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return net.ErrClosed
	}
	s.closed = true
	return syscall.Close(s.fd)
}

// Close closes the poller's epoll set; close its sockets first.
func (p *Poller) Close() error { return syscall.Close(p.epfd) }
