package server_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testserver"
	"github.com/trtcd/trtcd/server"
)

// Idle sockets from many addresses together fill only the HTTP listener's
// total: past it a socket from yet another address is closed at accept.
func TestHTTPListenerCapsTheConnectionsOfAllAddresses(t *testing.T) {
	cfg := testserver.Config(t, app, key)
	cfg.Limits.HTTPTotal = 2
	srv, err := server.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(t, srv) }) // after the sockets below close: Shutdown waits for new ones
	addr := srv.HTTPAddr().String()
	dialFrom(t, addr, "127.0.0.2")
	dialFrom(t, addr, "127.0.0.3")
	third := dialFrom(t, addr, "127.0.0.4")
	third.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = third.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a third address over a total of 2 was kept: %v", err)
	}
}

// dialFrom opens an idle TCP connection to addr from the loopback address
// local (every 127/8 address is loopback on Linux).
func dialFrom(t *testing.T, addr, local string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}
