package sfu

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/testpeer"
)

// workerLog records which worker read each remote address's datagrams.
type workerLog struct {
	mu   sync.Mutex
	seen map[netip.AddrPort]map[int]bool
}

func (l *workerLog) note(w int, addr netip.AddrPort) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[addr] == nil {
		l.seen[addr] = map[int]bool{}
	}
	l.seen[addr][w] = true
}

// of is the one worker that read addr's datagrams (-1: none yet).
func (l *workerLog) of(t *testing.T, addr netip.AddrPort) int {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen[addr]) > 1 {
		t.Fatalf("%v's datagrams were read by workers %v: a session must live on one", addr, l.seen[addr])
	}
	for w := range l.seen[addr] {
		return w
	}
	return -1
}

// clientAddr is the address a loopback client's selected pair sends from.
func clientAddr(t *testing.T, pc *webrtc.PeerConnection) netip.AddrPort {
	t.Helper()
	pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("no selected pair (%v)", err)
	}
	return netip.AddrPortFrom(netip.MustParseAddr(pair.Local.Address), pair.Local.Port)
}

// A publisher whose datagrams one worker reads, and a viewer whose
// datagrams another reads: the publisher's worker forwards to the viewer
// on the fast path, and the viewer gets every packet.
func TestAPublisherAndItsViewerOnDifferentWorkers(t *testing.T) {
	for _, workers := range []int{2, 4} {
		t.Run(fmt.Sprintf("%d workers", workers), func(t *testing.T) {
			log := &workerLog{seen: map[netip.AddrPort]map[int]bool{}}
			s := startSFUConfig(t, TransportConfig{Workers: workers, seen: log.note})
			if n := len(s.t.udp.socks); n != workers {
				t.Fatalf("%d sockets, want %d", n, workers)
			}
			pub := publish(t, s, "room-w", "alice", testpeer.Options{})
			waitFor(t, "alice's tracks", 5*time.Second, func() bool { return s.rooms["room-w"] != nil && s.rooms["room-w"].track("alice", SourceMain) != nil })
			pubWorker := log.of(t, clientAddr(t, pub.pc))
			// The kernel hashes each client's address to a worker: add
			// viewers until one is on another worker than alice
			// (each is with probability 1 - 1/workers).
			for i := range 16 {
				v := subscribe(t, s, "room-w", fmt.Sprintf("viewer-%d", i), "alice")
				waitFor(t, "video at the viewer", 5*time.Second, func() bool { return v.stats("video").packets > 20 })
				w := log.of(t, clientAddr(t, v.pc))
				if w == pubWorker || w < 0 {
					v.pc.Close()
					continue
				}
				t.Logf("alice on worker %d, viewer-%d on worker %d", pubWorker, i, w)
				assertFastPath(t, s, "room-w", "alice")
				time.Sleep(2 * time.Second)
				if d := v.deliveredRatio("video"); d < 0.995 {
					t.Fatalf("the viewer on another worker got %.4f of its video", d)
				}
				if d := v.deliveredRatio("audio"); d < 0.995 {
					t.Fatalf("the viewer on another worker got %.4f of its audio", d)
				}
				if log.of(t, clientAddr(t, pub.pc)) != pubWorker {
					t.Fatal("alice moved to another worker")
				}
				return
			}
			t.Fatalf("16 viewers all on alice's worker %d", pubWorker)
		})
	}
}
