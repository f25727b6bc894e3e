package rawudp

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func newTestConn(t *testing.T) (*Conn, netip.AddrPort) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u, c.LocalAddr().(*net.UDPAddr).AddrPort()
}

func TestRawUDPRoundTripWithoutAllocating(t *testing.T) {
	a, aAddr := newTestConn(t)
	b, bAddr := newTestConn(t)
	msg, buf := []byte("a datagram"), make([]byte, 1500)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := a.WriteToAddrPort(msg, bAddr); err != nil {
			t.Fatal(err)
		}
		n, from, err := b.ReadFromAddrPort(buf)
		if err != nil || string(buf[:n]) != string(msg) || from != aAddr {
			t.Fatalf("read %q from %v (%v), want %q from %v", buf[:n], from, err, msg, aAddr)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per datagram, want 0", allocs)
	}
	// An IPv4-mapped IPv6 address is the same destination.
	mapped := netip.AddrPortFrom(netip.AddrFrom16(bAddr.Addr().As16()), bAddr.Port())
	if _, err := a.WriteToAddrPort(msg, mapped); err != nil {
		t.Errorf("write to %v: %v", mapped, err)
	}
	if _, err := a.WriteToAddrPort(msg, netip.MustParseAddrPort("[::1]:9")); err == nil {
		t.Error("an IPv6 destination was accepted by an IPv4 socket")
	}
}

func TestRawUDPCloseEndsAWaitingRead(t *testing.T) {
	u, addr := newTestConn(t)
	done := make(chan error, 1)
	go func() {
		_, _, err := u.ReadFromAddrPort(make([]byte, 1500))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the read wait in the poller
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("read after close: %v, want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a read waiting for data was not ended by Close")
	}
	if _, err := u.WriteToAddrPort([]byte("x"), addr); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after close: %v, want net.ErrClosed", err)
	}
}
