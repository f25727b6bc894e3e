package limit

import (
	"io"
	"net"
	"sync"
	"time"
)

// Listener wraps ln so that Accept only returns connections the gate
// admits; a refused connection is closed at once and reported to
// onRefuse (which may be nil). Closing an accepted connection gives its
// place back. Accept waits out failures that pass (AcceptWillPass), so
// that the server behind it, which may end its accept loop on any error
// (pion's ICE-TCP mux does), keeps serving once descriptors come back.
func (g *Gate) Listener(ln net.Listener, onRefuse func(net.Addr, error)) net.Listener {
	return &gatedListener{Listener: ln, gate: g, onRefuse: onRefuse}
}

type gatedListener struct {
	net.Listener
	gate     *Gate
	onRefuse func(net.Addr, error)
}

func (l *gatedListener) Accept() (net.Conn, error) {
	var backoff Backoff
	for {
		c, err := l.Listener.Accept()
		if AcceptWillPass(err) {
			AcceptRetries.WithLabelValues(l.gate.cfg.Name).Inc()
			time.Sleep(backoff.Next())
			continue
		}
		if err != nil {
			return nil, err
		}
		backoff.Reset()
		leave, err := l.gate.Enter(c.RemoteAddr().String())
		if err == nil {
			return &gatedConn{Conn: c, leave: leave}, nil
		}
		c.Close()
		if l.onRefuse != nil {
			l.onRefuse(c.RemoteAddr(), err)
		}
	}
}

type gatedConn struct {
	net.Conn
	leave func()
	once  sync.Once
}

// CloseWrite half-closes where the connection can (TCP), so that a server
// ending a WebSocket lets the client read the closing frame before the RST.
func (c *gatedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps sendfile for files served from disk (recordings, the SDK).
func (c *gatedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(c.Conn, r)
}

func (c *gatedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.leave)
	return err
}
