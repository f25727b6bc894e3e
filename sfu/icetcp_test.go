package sfu

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/limit"
)

// One address that opens idle ICE-TCP connections gets its cap and no
// more: the next one is closed at once, before the mux spends a goroutine
// waiting for its STUN request.
func TestICETCPCapsTheConnectionsOfOneAddress(t *testing.T) {
	s := startSFUConfig(t, TransportConfig{
		TCPPerAddress:    limit.Config{PerSecond: -1, Connections: 3},
		firstSTUNTimeout: time.Hour, // only the cap closes a connection here
	})
	addr := s.t.tcp.Addr().String()
	for range 3 {
		dialIdle(t, addr)
	}
	if !closedByServer(t, dialIdle(t, addr)) {
		t.Fatal("the 4th idle ICE-TCP connection from one address was kept, over a cap of 3")
	}
}

// An ICE-TCP connection that never sends its STUN binding request is closed
// after firstSTUNTimeout, instead of pion's 30 s.
func TestICETCPClosesAConnectionThatSendsNoSTUN(t *testing.T) {
	s := startSFUConfig(t, TransportConfig{firstSTUNTimeout: 100 * time.Millisecond})
	if !closedByServer(t, dialIdle(t, s.t.tcp.Addr().String())) {
		t.Fatal("a silent ICE-TCP connection was still open after 10 s")
	}
}

// dialIdle opens a TCP connection to addr that sends nothing.
func dialIdle(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// closedByServer waits up to 10 s for the server to close nc.
func closedByServer(t *testing.T, nc net.Conn) bool {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := nc.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}
