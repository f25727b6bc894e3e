package rtmp

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
)

// descriptorsRunOut is a listener of a process that has run out of file
// descriptors for its first accepts, as under a flood of connections.
type descriptorsRunOut struct {
	net.Listener
	failures atomic.Int32
}

func (l *descriptorsRunOut) Accept() (net.Conn, error) {
	if l.failures.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// A server that runs out of file descriptors for a while serves again once
// they come back, instead of never accepting another pusher.
func TestRTMPServesAgainAfterRunningOutOfDescriptors(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &descriptorsRunOut{Listener: raw}
	ln.failures.Store(3)
	s := &Server{Handler: &recorder{}, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	defer func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Errorf("Serve returned %v, want ErrClosed", err)
		}
	}()
	publishes(t, dialClient(t, raw.Addr().String()), "after-emfile")
}
