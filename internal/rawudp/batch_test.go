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
