package e2e

import (
	"io"
	"net"
	"sync"
	"testing"
)

// netLink stands for the network between the clients and trtcd: a TCP
// relay on 127.0.0.2 that forwards each of trtcd's ports (the same numbers)
// to 127.0.0.1. Clients pointed at 127.0.0.2 reach trtcd through it, and
// cutting it is how they see the server vanish without a word, as after a
// crash or a lost route: open connections break, new ones are refused.
type netLink struct {
	mu    sync.Mutex
	ports []string
	lns   []net.Listener
	conns map[net.Conn]struct{}
}

// linkTo relays the ports of addrs; the link is cut when the test ends.
func linkTo(t *testing.T, addrs ...net.Addr) *netLink {
	t.Helper()
	l := &netLink{conns: map[net.Conn]struct{}{}}
	for _, a := range addrs {
		_, port, _ := net.SplitHostPort(a.String())
		l.ports = append(l.ports, port)
	}
	if err := l.restore(); err != nil {
		t.Skipf("cannot listen on 127.0.0.2 for the relay: %v", err)
	}
	t.Cleanup(l.cut)
	return l
}

// restore listens again.
func (l *netLink) restore() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lns) > 0 {
		return nil
	}
	for _, port := range l.ports {
		ln, err := net.Listen("tcp", "127.0.0.2:"+port)
		if err != nil {
			for _, o := range l.lns {
				o.Close()
			}
			l.lns = nil
			return err
		}
		l.lns = append(l.lns, ln)
		go l.accept(ln, "127.0.0.1:"+port)
	}
	return nil
}

// cut closes the listeners and every relayed connection.
func (l *netLink) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range l.lns {
		ln.Close()
	}
	l.lns = nil
	for c := range l.conns {
		c.Close()
	}
	l.conns = map[net.Conn]struct{}{}
}

func (l *netLink) accept(ln net.Listener, target string) {
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", target)
		if err != nil {
			in.Close()
			continue
		}
		if !l.track(in, out) {
			continue
		}
		go l.pipe(in, out)
		go l.pipe(out, in)
	}
}

// track records a relayed pair, unless the link was cut meanwhile.
func (l *netLink) track(in, out net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lns) == 0 {
		in.Close()
		out.Close()
		return false
	}
	l.conns[in], l.conns[out] = struct{}{}, struct{}{}
	return true
}

func (l *netLink) pipe(dst, src net.Conn) {
	io.Copy(dst, src)
	dst.Close()
	src.Close()
	l.mu.Lock()
	delete(l.conns, dst)
	delete(l.conns, src)
	l.mu.Unlock()
}
