//go:build linux && (amd64 || arm64)

package rawudp

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// A poller hands each socket's datagrams to that socket's handler with
// the sender's address and the kernel's receive time, never blocks when
// nothing waits, stops reading a closed socket, and allocates nothing.
func TestPollerReadsEverySocket(t *testing.T) {
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got := map[string][]string{}
	var lastAt time.Time
	counted := 0 // while counting, datagrams are only counted: appending allocates
	counting := false
	listen := func(name string) *Socket {
		s, err := p.Listen(netip.MustParseAddr("127.0.0.1"), 1<<16, func(d []byte, from netip.AddrPort, at time.Time) {
			if counting {
				counted++
				return
			}
			got[name] = append(got[name], string(d))
			lastAt = at
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := listen("a"), listen("b")
	tx, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer tx.Close()
	before := time.Now()
	for _, m := range []struct {
		to   *Socket
		text string
	}{{a, "1"}, {b, "2"}, {a, "3"}} {
		if _, err := tx.WriteToUDPAddrPort([]byte(m.text), m.to.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Poll(); err != nil {
		t.Fatal(err)
	}
	if len(got["a"]) != 2 || got["a"][1] != "3" || len(got["b"]) != 1 {
		t.Fatalf("got %v", got)
	}
	if lastAt.Before(before.Add(-time.Second)) || lastAt.After(time.Now()) {
		t.Fatalf("receive time %v, sent after %v", lastAt, before)
	}
	counting = true
	x := []byte("x")
	if a := testing.AllocsPerRun(50, func() {
		tx.WriteToUDPAddrPort(x, b.LocalAddr())
		p.Poll()
	}); a != 0 || counted != 51 {
		t.Fatalf("%v allocations per poll, %d of 51 datagrams read", a, counted)
	}
	counting = false
	b.Close()
	tx.WriteToUDPAddrPort([]byte("late"), b.LocalAddr())
	n := len(got["b"])
	if err := p.Poll(); err != nil || len(got["b"]) != n {
		t.Fatalf("a closed socket was read: %v %v", err, got["b"][n:])
	}
	if _, err := b.WriteTo([]byte("x"), a.LocalAddr()); err == nil {
		t.Fatal("wrote on a closed socket")
	}
	a.Close()
}
