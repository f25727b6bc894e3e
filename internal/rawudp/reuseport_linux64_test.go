//go:build linux && (amd64 || arm64)

package rawudp

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// Four sockets share a port: each of 32 peers' datagrams all arrive on one
// of them, more than one socket gets peers, and another process's
// (another call's) sockets cannot join the port.
func TestListenSharedSpreadsPeersOverSockets(t *testing.T) {
	conns, err := ListenShared("udp4", "127.0.0.1:0", 4)
	if err != nil {
		t.Fatal(err)
	}
	port := conns[0].LocalAddr().(*net.UDPAddr).Port
	var mu sync.Mutex
	got := map[netip.AddrPort]map[int]int{} // peer → socket → datagrams
	var wg sync.WaitGroup
	for i, c := range conns {
		if p := c.LocalAddr().(*net.UDPAddr).Port; p != port {
			t.Fatalf("socket %d on port %d, want %d", i, p, port)
		}
		u, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { u.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, from, err := u.Next()
				if err != nil {
					return
				}
				mu.Lock()
				if got[from] == nil {
					got[from] = map[int]int{}
				}
				got[from][i]++
				mu.Unlock()
			}
		}()
	}
	if _, err := ListenShared("udp4", conns[0].LocalAddr().String(), 2); err == nil {
		t.Fatal("a second group joined a port in use")
	}
	for range 32 {
		peer, err := net.DialUDP("udp4", nil, conns[0].LocalAddr().(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			peer.Write([]byte("hello"))
		}
		peer.Close()
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		n := 0
		for _, by := range got {
			for _, c := range by {
				n += c
			}
		}
		mu.Unlock()
		if n == 32*4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now()) // ends the readers' waits
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	used := map[int]bool{}
	for peer, by := range got {
		if len(by) != 1 {
			t.Errorf("%v's datagrams arrived on sockets %v, want one", peer, by)
		}
		for i := range by {
			used[i] = true
		}
	}
	if len(got) != 32 || len(used) < 2 {
		t.Fatalf("%d peers heard, on %d sockets: want 32 on more than one", len(got), len(used))
	}
}
