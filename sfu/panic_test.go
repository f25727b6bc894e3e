package sfu

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/internal/rawudp"
	"github.com/trtcd/trtcd/internal/testpeer"
)

// panickingSink stands for a bug that a packet reaches in a sink.
type panickingSink struct{ calls atomic.Int64 }

func (s *panickingSink) WriteRTP(*Packet) {
	s.calls.Add(1)
	panic("test: a sink's bug")
}

// Sinks that panic on every packet cost the track's other sinks nothing:
// each panic is counted, the others get every packet, and a broken sink
// can still be removed (the delivery it broke is over).
func TestAPanickingSinkCostsTheOtherSinksNothing(t *testing.T) {
	tr := NewTrack("alice/video", KindVideo, h264, &fakeUpstream{}, NewMetrics())
	first, broken, broken2, last := &countingSink{}, &panickingSink{}, &panickingSink{}, &countingSink{}
	for _, s := range []Sink{first, broken, broken2, last} {
		tr.AddSink(s)
	}
	before := panics.Count(panics.Media)
	for i := range 10 {
		tr.Write(rtpPacket(7, uint16(i), i == 0))
	}
	if got := panics.Count(panics.Media) - before; got != 20 {
		t.Fatalf("%v panics counted, want 20 (one a packet and broken sink)", got)
	}
	if first.packets.Load() != 10 || last.packets.Load() != 10 {
		t.Fatalf("the other sinks got %d and %d of 10 packets", first.packets.Load(), last.packets.Load())
	}
	removed := make(chan struct{})
	go func() { tr.RemoveSink(broken); close(removed) }()
	select {
	case <-removed:
	case <-time.After(5 * time.Second):
		t.Fatal("RemoveSink of the panicking sink did not return: a delivery was left open")
	}
	tr.Write(rtpPacket(7, 10, false))
	if broken.calls.Load() != 10 || last.packets.Load() != 11 {
		t.Fatalf("after the removal: the broken sink had %d calls (want 10), the last sink %d packets (want 11)",
			broken.calls.Load(), last.packets.Load())
	}
}

// A panic while the media socket's reader handles one publisher's datagram
// drops that datagram: the reader goes on, and another publisher's packets
// are forwarded and pion's datagrams still reach pion. So with one socket
// read by pion's goroutine, and with two read by workers.
func TestAPanicOnTheMediaReaderDropsOnlyThatDatagram(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d workers", workers), func(t *testing.T) { testAPanicOnTheMediaReader(t, workers) })
	}
}

func testAPanicOnTheMediaReader(t *testing.T, workers int) {
	socks, err := rawudp.ListenShared("udp4", "127.0.0.1:0", workers)
	if err != nil {
		t.Fatal(err)
	}
	m, err := newMediaConn(socks, DefaultSTUNLimit, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	good, bad := dialUDP(t, m), dialUDP(t, m)

	tr := NewTrack("alice/video", KindVideo, h264, &fakeUpstream{}, NewMetrics())
	sink := &countingSink{}
	tr.AddSink(sink)
	fp, enc := fastPublisherFor(t, tr)
	// A bug in the other route: its track is missing, and handle panics.
	broken := &fastPublisher{}
	broken.tracks.Store(&map[uint32]*fastTrack{5: {}})
	m.setRoute(good.LocalAddr().(*net.UDPAddr).AddrPort(), fp)
	m.setRoute(bad.LocalAddr().(*net.UDPAddr).AddrPort(), broken)
	toPion := make(chan []byte, 16)
	go func() { // pion's ICE mux reads the socket so
		buf := make([]byte, 1500)
		for {
			n, _, err := m.ReadFromAddrPort(buf)
			if err != nil {
				return
			}
			toPion <- bytes.Clone(buf[:n])
		}
	}()

	before := panics.Count(panics.Media)
	if _, err := bad.Write(srtpPacket(t, enc, 0, []byte{0x65})); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := good.Write(srtpPacket(t, enc, uint16(i), []byte{0x41})); err != nil {
			t.Fatal(err)
		}
	}
	stun := []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42} // not RTP: pion's
	good.Write(stun)
	select {
	case got := <-toPion:
		if !bytes.Equal(got, stun) {
			t.Fatalf("pion got %x, want the STUN bytes %x", got, stun)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the reader handed pion nothing: it did not go on after the panic")
	}
	// The datagrams of two sockets may arrive in either order: wait for all.
	testpeer.WaitFor(t, "the good publisher's 10 packets and one panic", 5*time.Second, func() bool {
		return sink.packets.Load() == 10 && panics.Count(panics.Media)-before == 1
	})
	if n := broken.busy.Load(); n != 0 {
		t.Fatalf("the broken route has %d packets in hand after the panic, want 0", n)
	}
	select {
	case got := <-toPion:
		t.Fatalf("pion got %x: a datagram that panicked must be dropped, not passed on", got)
	default:
	}
}

// dialUDP is a loopback socket connected to m.
func dialUDP(t *testing.T, m *mediaConn) *net.UDPConn {
	t.Helper()
	to := m.LocalAddr().(*net.UDPAddr).AddrPort()
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(to.Addr(), to.Port())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A real publisher on the fast path with a sink that panics on every
// packet beside a real viewer: the viewer keeps playing, every panic is
// counted.
func TestAPanickingSinkOnTheFastPathLeavesTheViewerPlaying(t *testing.T) {
	s := startSFU(t)
	publish(t, s, "room-panic", "alice", testpeer.Options{})
	waitFor(t, "alice's tracks", 5*time.Second, func() bool {
		s.mu.Lock()
		r := s.rooms["room-panic"]
		s.mu.Unlock()
		return r != nil && r.track("alice", SourceMain) != nil
	})
	v := subscribe(t, s, "room-panic", "bob", "alice")
	waitFor(t, "video at the viewer", 5*time.Second, func() bool { return v.stats("video").packets > 20 })
	assertFastPath(t, s, "room-panic", "alice")

	broken := &panickingSink{}
	tapper, err := s.Join("room-panic", "tapper")
	if err != nil {
		t.Fatal(err)
	}
	defer tapper.Close()
	before, seen := panics.Count(panics.Media), v.stats("video").packets
	tap := tapper.Follow("alice", SourceMain, broken, nil)
	defer tap.Detach()
	waitFor(t, "100 more video packets at the viewer beside the panicking sink", 10*time.Second, func() bool {
		return v.stats("video").packets > seen+100 && broken.calls.Load() > 100
	})
	if got := panics.Count(panics.Media) - before; got < 100 {
		t.Fatalf("%v panics counted for over 100 calls of the panicking sink", got)
	}
	if d := v.deliveredRatio("video"); d < 0.99 {
		t.Fatalf("the viewer got %.4f of its video beside the panicking sink", d)
	}
}
