package limit

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
)

// exhaustedListener fails its first accepts as a process out of file
// descriptors does, then hands over conn.
type exhaustedListener struct {
	net.Listener
	failures []error
	conn     net.Conn
}

func (l *exhaustedListener) Accept() (net.Conn, error) {
	if len(l.failures) > 0 {
		err := l.failures[0]
		l.failures = l.failures[1:]
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", err)}
	}
	return l.conn, nil
}

func TestGatedListenerOutlastsRunningOutOfDescriptors(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	raw := &exhaustedListener{conn: server,
		failures: []error{syscall.EMFILE, syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED, syscall.ENOBUFS}}
	c, err := NewGate(Config{}).Listener(raw, nil).Accept()
	if err != nil {
		t.Fatalf("Accept gave up while descriptors were short: %v (a server's accept loop would stop for good)", err)
	}
	defer c.Close()
	go client.Write([]byte("x"))
	if n, err := c.Read(make([]byte, 1)); n != 1 {
		t.Fatalf("the accepted connection does not carry the client's bytes: %v", err)
	}
}

func TestGatedListenerPassesOnAClosedListener(t *testing.T) {
	raw := &exhaustedListener{failures: []error{syscall.EINVAL}}
	if _, err := NewGate(Config{}).Listener(raw, nil).Accept(); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("Accept on a broken listener: %v, want its error", err)
	}
}

func TestBackoffDoublesFrom5msToASecond(t *testing.T) {
	var b Backoff
	var waits []int64
	for range 10 {
		waits = append(waits, b.Next().Milliseconds())
	}
	want := []int64{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	b.Reset()
	if got := b.Next().Milliseconds(); got != 5 {
		t.Fatalf("after Reset: %d ms, want 5", got)
	}
}
