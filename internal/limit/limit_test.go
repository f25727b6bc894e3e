package limit

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

func TestKeyGroupsIPv6By64(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:4000":              "192.0.2.7",
		"[2001:db8:1:2:aaaa::1]:4000": "2001:db8:1:2::/64",
		"[2001:db8:1:2:bbbb::9]:1":    "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:80":       "192.0.2.7",
		"[fe80::1%eth0]:5":            "fe80::/64",
		"not-an-address":              "not-an-address",
	} {
		if got := Key(addr); got != want {
			t.Errorf("Key(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestGateRefusesPastBurstAndCap(t *testing.T) {
	g := NewGate(Config{PerSecond: 1, Burst: 3, Connections: 2})
	a, b := "192.0.2.1:1", "192.0.2.1:2"
	leave1, err := g.Enter(a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Enter(b); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Enter(b); !errors.Is(err, ErrConnections) {
		t.Fatalf("third connection: %v, want ErrConnections", err)
	}
	leave1()
	leave1() // twice is harmless
	if got := g.Connections(a); got != 1 {
		t.Fatalf("connections after leave = %d, want 1", got)
	}
	if err := g.Allow(a); !errors.Is(err, ErrRate) {
		t.Fatalf("fourth request in a burst of 3: %v, want ErrRate", err)
	}
	if err := g.Allow("192.0.2.2:1"); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

func TestZeroConfigIsUnlimited(t *testing.T) {
	g := NewGate(Config{})
	for range 10_000 {
		if _, err := g.Enter("192.0.2.1:1"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestListenerClosesRefusedConnections(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := make(chan error, 10)
	ln := NewGate(Config{Connections: 1}).Listener(raw, func(_ net.Addr, err error) { refused <- err })
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	first, _ := net.Dial("tcp", raw.Addr().String())
	defer first.Close()
	held := <-accepted
	if _, ok := held.(interface{ CloseWrite() error }); !ok {
		t.Fatal("a gated TCP connection cannot half-close (WebSocket closes need it)")
	}
	if _, ok := held.(io.ReaderFrom); !ok {
		t.Fatal("a gated TCP connection lost ReadFrom (sendfile)")
	}
	second, _ := net.Dial("tcp", raw.Addr().String())
	defer second.Close()
	if err := <-refused; !errors.Is(err, ErrConnections) {
		t.Fatalf("second connection refused with %v", err)
	}
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := second.Read(make([]byte, 1)); err == nil {
		t.Fatal("refused connection was not closed")
	}
	held.Close()
	third, _ := net.Dial("tcp", raw.Addr().String())
	defer third.Close()
	select {
	case c := <-accepted:
		c.Close()
	case err := <-refused:
		t.Fatalf("a place given back was not reused: %v", err)
	}
}

// Many addresses together get the listener's total and no more: past it a
// connection from a new address is refused, counted as "total", until a
// place is given back.
func TestGateCapsTheConnectionsOfAllAddresses(t *testing.T) {
	g := NewGate(Config{Total: 2, Name: "test-total"})
	leave, err := g.Enter("192.0.2.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Enter("192.0.2.2:1"); err != nil {
		t.Fatal(err)
	}
	before := refusedTotal(t, "test-total")
	if _, err := g.Enter("192.0.2.3:1"); !errors.Is(err, ErrTotal) {
		t.Fatalf("a third address over a total of 2: %v, want ErrTotal", err)
	}
	if got := refusedTotal(t, "test-total") - before; got != 1 {
		t.Fatalf("trtcd_refused_total{reason=total} rose by %v, want 1", got)
	}
	leave()
	if _, err := g.Enter("192.0.2.3:1"); err != nil {
		t.Fatalf("a place given back was not reused: %v", err)
	}
}

func TestConfigOrKeepsTheTotal(t *testing.T) {
	if got := (Config{}).Or(Config{Total: 7}); got.Total != 7 {
		t.Fatalf("a zero Total took %d, want the default's 7", got.Total)
	}
	if got := (Config{Total: -1}).Or(Config{Total: 7}); got.Total != -1 {
		t.Fatalf("Total -1 (off) became %d", got.Total)
	}
}

// refusedTotal reads trtcd_refused_total{listener, reason="total"}.
func refusedTotal(t *testing.T, listener string) float64 {
	t.Helper()
	var m dto.Metric
	if err := Refused.WithLabelValues(listener, "total").Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
