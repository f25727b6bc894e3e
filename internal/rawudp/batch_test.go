package rawudp

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// A batch of datagrams arrives whole and in order, and the batch can be
// reused after it was sent.
func TestWriteBatch(t *testing.T) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	b := NewBatch(rx.LocalAddr().(*net.UDPAddr).AddrPort())
	want := [][]byte{[]byte("one"), []byte("two"), bytes.Repeat([]byte("3"), 1200)}
	for round := range 2 {
		for _, d := range want {
			if !b.Add(d) {
				t.Fatal("batch full")
			}
		}
		if n, err := tx.WriteBatch(b); n != len(want) || err != nil || b.Len() != 0 {
			t.Fatalf("round %d: sent %d, %v, %d left", round, n, err, b.Len())
		}
		rx.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 2000)
		for _, d := range want {
			n, _, err := rx.ReadFromUDPAddrPort(buf)
			if err != nil || !bytes.Equal(buf[:n], d) {
				t.Fatalf("round %d: got %q, %v; want %q", round, buf[:n], err, d)
			}
		}
	}
}

// Sending a batch allocates nothing.
func TestWriteBatchAllocs(t *testing.T) {
	rx, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer rx.Close()
	c, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	tx, _ := New(c)
	defer tx.Close()
	b := NewBatch(netip.MustParseAddrPort(rx.LocalAddr().String()))
	d := make([]byte, 100)
	if a := testing.AllocsPerRun(100, func() {
		b.Add(d)
		b.Add(d)
		tx.WriteBatch(b)
	}); a != 0 {
		t.Fatalf("%v allocations per batch", a)
	}
}

// A segmented send arrives as separate datagrams of the segment size, the
// last shorter; where the kernel lacks GSO the batch splits it itself.
func TestWriteBatchSegments(t *testing.T) {
	rx, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer rx.Close()
	c, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	tx, _ := New(c)
	defer tx.Close()
	b := NewBatch(netip.MustParseAddrPort(rx.LocalAddr().String()))
	d := make([]byte, 250)
	for i := range d {
		d[i] = byte(i)
	}
	b.AddSegments(d, 100)
	b.Add([]byte("after"))
	if _, err := tx.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
	rx.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2000)
	for _, want := range [][]byte{d[:100], d[100:200], d[200:], []byte("after")} {
		n, _, err := rx.ReadFromUDPAddrPort(buf)
		if err != nil || !bytes.Equal(buf[:n], want) {
			t.Fatalf("got %d bytes %v, want %d (GSO supported: %v)", n, err, len(want), SupportsGSO())
		}
	}
}

// One batch carries datagrams for several addresses (AddTo) beside the
// batch's own (Add), each to its address, in order.
func TestWriteBatchToManyAddresses(t *testing.T) {
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		return c
	}
	own, a, b := listen(), listen(), listen()
	tx, err := New(listen())
	if err != nil {
		t.Fatal(err)
	}
	batch := NewBatch(own.LocalAddr().(*net.UDPAddr).AddrPort())
	addr := func(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }
	batch.AddTo([]byte("a1"), addr(a))
	batch.AddTo([]byte("b1"), addr(b))
	batch.Add([]byte("own"))
	batch.AddTo([]byte("a2"), addr(a))
	if n, err := tx.WriteBatch(batch); n != 4 || err != nil {
		t.Fatalf("sent %d, %v", n, err)
	}
	buf := make([]byte, 100)
	for _, want := range []struct {
		c    *net.UDPConn
		text string
	}{{a, "a1"}, {a, "a2"}, {b, "b1"}, {own, "own"}} {
		n, _, err := want.c.ReadFromUDPAddrPort(buf)
		if err != nil || string(buf[:n]) != want.text {
			t.Fatalf("got %q, %v; want %q", buf[:n], err, want.text)
		}
	}
}
