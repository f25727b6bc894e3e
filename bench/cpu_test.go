package bench

import (
	"net"
	"os"
	"testing"
)

// Datagrams that overflow one of this process's sockets count in its own
// UDP drops.
func TestProcessUDPDropsCountsOwnSockets(t *testing.T) {
	before, err := ProcessUDPDrops(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	full, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	full.SetReadBuffer(1) // the kernel's minimum: a few datagrams
	sender, err := net.DialUDP("udp4", nil, full.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	for range 100 {
		sender.Write(make([]byte, 1000))
	}
	after, err := ProcessUDPDrops(os.Getpid())
	if err != nil || after <= before {
		t.Fatalf("drops %d then %d (%v) after 100 datagrams into an unread socket", before, after, err)
	}
}
