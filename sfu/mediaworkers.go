package sfu

import (
	"net"
	"net/netip"
	"sync"
)

// Workers. With N sockets on the media port (SO_REUSEPORT) the kernel
// sends each remote address's datagrams, STUN, DTLS and SRTP alike, to one
// of them, so a session lives on the worker whose socket receives it: that
// worker's goroutine decrypts its publishers' packets and forwards them to
// every subscriber, sending from whatever socket the subscriber's fastOut
// holds (any socket on the port can send; no lock is taken). What is not
// for the fast path goes to pion's one ICE mux through toPion.
type workers struct {
	toPion  chan leftover
	free    chan *[maxDatagram]byte // toPion's buffers, all preallocated
	done    chan struct{}
	closing sync.Once
	readers sync.WaitGroup
}

// leftover is a datagram a worker hands to pion, or the error that ended
// the worker's reads.
type leftover struct {
	buf  *[maxDatagram]byte
	n    int
	addr netip.AddrPort
	err  error
}

const (
	// maxDatagram is as long as any datagram the sockets return
	// (rawudp's buffers, and pion's receive MTU).
	maxDatagram = 8192
	// leftoverQueue datagrams may wait for pion: STUN, DTLS and RTCP are
	// a few per session per second, but a session's media goes this way
	// until it is on the fast path. When pion falls this far behind, the
	// workers wait (and the sockets' buffers fill) as the one reader did.
	leftoverQueue = 256
)

func (m *mediaConn) startWorkers(seen func(worker int, addr netip.AddrPort)) {
	m.toPion = make(chan leftover, leftoverQueue)
	m.free = make(chan *[maxDatagram]byte, leftoverQueue)
	for range leftoverQueue {
		m.free <- new([maxDatagram]byte)
	}
	m.done = make(chan struct{})
	for w := range m.socks {
		m.readers.Add(1)
		go m.serve(w, seen)
	}
}

// serve is worker w's reader: fast-path packets are handled on the spot,
// the rest copied out for pion.
func (m *mediaConn) serve(w int, seen func(worker int, addr netip.AddrPort)) {
	defer m.readers.Done()
	sock, ob := m.socks[w], newOutbox(m.socks[w])
	for {
		d, addr, err := sock.Next()
		if err == nil && m.fast(d, addr, sock, ob) {
			continue
		}
		l := leftover{addr: addr, err: err}
		if err == nil {
			if seen != nil {
				seen(w, addr)
			}
			select {
			case l.buf = <-m.free:
			case <-m.done:
				return
			}
			l.n = copy(l.buf[:], d)
		}
		select {
		case m.toPion <- l:
		case <-m.done:
			return
		}
		if err != nil {
			return // as the one reader's error would end pion's mux
		}
	}
}

// readLeftover is pion's read when workers read the sockets.
func (m *mediaConn) readLeftover(b []byte) (int, netip.AddrPort, error) {
	select {
	case l := <-m.toPion:
		if l.buf == nil {
			return 0, l.addr, l.err
		}
		n := copy(b, l.buf[:l.n])
		m.free <- l.buf // never waits: there are as many buffers as places
		return n, l.addr, nil
	case <-m.done:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}
