package sfu

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
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

// dropRTP is a route that drops every RTP packet and no other.
type dropRTP struct{}

func (dropRTP) handle([]byte, *outbox) bool { return true }
func (dropRTP) dropRTCP([]byte) bool        { return false }
func (dropRTP) dropDTLS([]byte) bool        { return false }

// An ICE-TCP connection hands pion its packets framed as they came, less
// those its session's screen drops; pion may read them in any pieces.
func TestICETCPPacketsPassTheScreen(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	routes := newRouteTable()
	routes.setRoute(netip.AddrPort{}, dropRTP{}) // net.Pipe has no TCP address
	conn := &screenedConn{Conn: server, routes: routes}
	stun := append([]byte{0, 20, 0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42}, make([]byte, 12)...)
	rtp := append([]byte{0, 14, 0x80, 96}, make([]byte, 12)...)
	dtls := append([]byte{0x06, 0x00, 22}, make([]byte, 1535)...) // over an MTU
	huge := []byte{0xff, 0xff}
	go func() {
		for _, b := range [][]byte{stun, rtp, dtls, huge} {
			client.Write(b)
		}
	}()
	var got []byte
	buf := make([]byte, 3)
	for len(got) < len(stun)+len(dtls) {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if want := append(append([]byte{}, stun...), dtls...); !bytes.Equal(got, want) {
		t.Fatalf("pion read %d bytes, want the STUN and DTLS packets' %d", len(got), len(want))
	}
	if _, err := conn.Read(buf); err != errTCPFrameTooLarge {
		t.Fatalf("a 65535-byte packet: %v, want %v", err, errTCPFrameTooLarge)
	}
}
