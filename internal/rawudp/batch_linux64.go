//go:build linux && (amd64 || arm64)

package rawudp

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

// BatchSize is the most datagrams one WriteBatch sends.
const BatchSize = 32

// Batch is datagrams for one address, sent with a single sendmmsg: a load
// generator's frame (an audio packet and a video frame's packets) costs one
// system call instead of one per packet. The datagrams are not copied; they
// must stay unchanged until WriteBatch returns. Reuse it with Reset.
type Batch struct {
	msgs [BatchSize]mmsghdr
	iovs [BatchSize]syscall.Iovec
	ctrl [BatchSize][segmentControlSize]byte
	to   syscall.RawSockaddrInet4
	tos  [BatchSize]syscall.RawSockaddrInet4 // AddTo's addresses
	n    int
}

// UDP generic segmentation offload (Linux 4.18): a send of many same-size
// datagrams to one address passes the stack once, and the device (or the
// kernel, just before it) cuts it up. Over loopback that halves the cost
// of sending a video frame's packets.
const (
	solUDP     = 17  // SOL_UDP
	udpSegment = 103 // UDP_SEGMENT
	// MaxSegments is the most datagrams one segmented send may carry
	// (UDP_MAX_SEGMENTS), and MaxSegmentedSize the most bytes.
	MaxSegments      = 64
	MaxSegmentedSize = 65000
	// segmentControlSize is CMSG_SPACE(sizeof(uint16)).
	segmentControlSize = 24
)

// NewBatch makes a batch for datagrams to addr (IPv4).
func NewBatch(addr netip.AddrPort) *Batch {
	b := &Batch{to: sockaddr4(addr)}
	for i := range b.msgs {
		b.msgs[i].hdr.Iov = &b.iovs[i]
		b.msgs[i].hdr.Iovlen = 1
		b.msgs[i].hdr.Namelen = uint32(unsafe.Sizeof(b.to))
	}
	return b
}

// sockaddr4 is addr (IPv4) as the kernel takes it.
func sockaddr4(addr netip.AddrPort) syscall.RawSockaddrInet4 {
	to := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: addr.Addr().Unmap().As4()}
	to.Port = addr.Port()>>8 | addr.Port()<<8 // network byte order
	return to
}

// AddTo queues a datagram for addr (IPv4) instead of the batch's address:
// one batch then carries what a forwarding goroutine sends to many
// subscribers. False when the batch is full.
func (b *Batch) AddTo(d []byte, addr netip.AddrPort) bool {
	if !b.Add(d) {
		return false
	}
	i := b.n - 1
	b.tos[i] = sockaddr4(addr)
	b.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.tos[i]))
	return true
}

// Add queues a datagram; false when the batch is full.
func (b *Batch) Add(d []byte) bool { return b.AddSegments(d, 0) }

// AddSegments queues d as datagrams of size bytes each (the last may be
// shorter), handed to the kernel in one piece (UDP GSO); size 0 or len(d)
// is one datagram. d holds at most MaxSegments datagrams and
// MaxSegmentedSize bytes. False when the batch is full.
func (b *Batch) AddSegments(d []byte, size int) bool {
	if b.n == BatchSize || len(d) == 0 {
		return false
	}
	m := &b.msgs[b.n]
	m.hdr.Name = (*byte)(unsafe.Pointer(&b.to))
	b.iovs[b.n].Base = unsafe.SliceData(d)
	b.iovs[b.n].SetLen(len(d))
	m.hdr.Control, m.hdr.Controllen = nil, 0
	if size > 0 && size < len(d) {
		c := &b.ctrl[b.n]
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&c[0]))
		h.Level, h.Type = solUDP, udpSegment
		h.SetLen(syscall.CmsgLen(2))
		*(*uint16)(unsafe.Pointer(&c[syscall.CmsgLen(0)])) = uint16(size)
		m.hdr.Control = &c[0]
		m.hdr.SetControllen(segmentControlSize)
	}
	b.n++
	return true
}

// Len is the number of datagrams queued.
func (b *Batch) Len() int { return b.n }

// Reset empties the batch.
func (b *Batch) Reset() {
	for i := range b.n {
		b.iovs[i].Base = nil // the batch does not keep the buffers alive
	}
	b.n = 0
}

// WriteBatch sends the batch's datagrams and empties it; it returns how
// many the kernel took. A full send buffer drops the rest (EAGAIN), as
// WriteToAddrPort does.
func (u *Conn) WriteBatch(b *Batch) (int, error) {
	defer b.Reset()
	u.writers.Add(1)
	defer u.writers.Add(-1)
	if u.closed.Load() {
		return 0, net.ErrClosed
	}
	return sendBatch(u.fd, b)
}

// sendBatch sends the batch on fd with sendmmsg until the kernel took all
// of it, or its send buffer is full.
func sendBatch(fd uintptr, b *Batch) (int, error) {
	sent := 0
	for sent < b.n {
		n, _, errno := syscall.RawSyscall6(sysSendmmsg, fd,
			uintptr(unsafe.Pointer(&b.msgs[sent])), uintptr(b.n-sent), syscall.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			sent += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return sent, nil
		default:
			return sent, &net.OpError{Op: "write", Net: "udp", Err: errno}
		}
	}
	return sent, nil
}

// SupportsGSO says whether this kernel takes segmented sends (AddSegments
// with a size): it sends two segments to a socket of its own on loopback.
func SupportsGSO() bool {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	if syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}) != nil {
		return false
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return false
	}
	b := NewBatch(netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port)))
	b.AddSegments(make([]byte, 16), 8)
	n, err := sendBatch(uintptr(fd), b)
	b.Reset()
	return n == 1 && err == nil
}
