package wsconn

import (
	"net"
	"time"

	"github.com/gorilla/websocket"
)

const (
	// WriteTimeout bounds one write: a client that takes no frame for this
	// long is gone.
	WriteTimeout = 10 * time.Second
	// Linger: after its close frame a socket stays open this long, so that
	// the client reads what was sent before the TCP connection goes
	// (closing with unread data resets it, and the reset can discard the
	// frames that say why it was closed).
	Linger = time.Second
)

// Socket is where a Writer writes: a *websocket.Conn, whose reads belong
// to the connection's read loop.
type Socket interface {
	WriteMessage(messageType int, data []byte) error
	SetWriteDeadline(t time.Time) error
}

// Config is how a connection's writes are bounded and ended.
type Config struct {
	MaxBytes  int // the bytes a client may leave waiting, FrameOverhead a frame more; 0: no bound
	MaxFrames int // the frames it may leave waiting; 0: no bound
	// Ping is how often the client is pinged: a client answering pings is
	// not idle.
	Ping time.Duration
	// HalfClose shuts the TCP connection's sending side after the close
	// frame, as well as lingering.
	HalfClose bool
	// Close closes the connection: when a write fails, at once, and Linger
	// after the close frame. It may be called more than once.
	Close func()
}

// Writer is a connection's send queue and its write loop (Run): the one
// goroutine that writes to the socket once Run is called.
type Writer struct {
	sock Socket
	cfg  Config
	q    queue
}

// New makes the writer of sock; sock may be nil for a connection driven
// in-process, which never Runs.
func New(sock Socket, cfg Config) *Writer {
	return &Writer{sock: sock, cfg: cfg, q: queue{maxBytes: cfg.MaxBytes, maxFrames: cfg.MaxFrames, ready: make(chan struct{}, 1)}}
}

// Run writes the queued frames and pings until done is closed, the close
// frame is written or a write fails.
func (w *Writer) Run(done <-chan struct{}) {
	ping := time.NewTicker(w.cfg.Ping)
	defer ping.Stop()
	for {
		select {
		case <-w.q.ready:
			if !w.writeQueued() {
				return
			}
		case <-ping.C:
			if !w.write(websocket.PingMessage, nil) {
				return
			}
		case <-done:
			return
		}
	}
}

// writeQueued writes the frames queued so far; false when the connection
// is done (the close was written, or a write failed).
func (w *Writer) writeQueued() bool {
	for _, b := range w.Take() {
		if b == nil { // the end marker: everything before it is written
			w.end()
			return false
		}
		ok := w.write(websocket.TextMessage, b)
		w.q.sent(b)
		if !ok {
			return false
		}
	}
	return true
}

// end writes the close frame and closes the connection after the linger.
func (w *Writer) end() {
	if !w.write(websocket.CloseMessage, w.q.closeFrame()) {
		return
	}
	if w.cfg.HalfClose {
		if c, ok := w.sock.(interface{ UnderlyingConn() net.Conn }); ok {
			if tcp, ok := c.UnderlyingConn().(interface{ CloseWrite() error }); ok { // TCP, gated or not
				tcp.CloseWrite()
			}
		}
	}
	time.AfterFunc(Linger, w.cfg.Close)
}

// write writes one frame; a socket that cannot take it is closed.
func (w *Writer) write(kind int, b []byte) bool {
	if err := Write(w.sock, kind, b); err != nil {
		w.cfg.Close()
		return false
	}
	return true
}

// Write writes one frame to sock within WriteTimeout (the write of a
// connection that writes itself, without a Writer's loop).
func Write(sock Socket, kind int, b []byte) error {
	sock.SetWriteDeadline(time.Now().Add(WriteTimeout))
	return sock.WriteMessage(kind, b)
}
