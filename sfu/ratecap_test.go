package sfu

import (
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testpeer"
)

// The cap passes a stream at its rate and a burst of a second's worth,
// and of a stream at three times the rate it passes about the rate.
func TestRateCapPassesItsRateAndDropsTheRest(t *testing.T) {
	const kbps, packet = 800, 1000 // 100 packets/s at the cap
	sent := func(r *rateCap, perSecond int, seconds int) (passed int) {
		for i := range perSecond * seconds {
			if r.allow(packet, int64(i)*1e9/int64(perSecond)+1e9) {
				passed++
			}
		}
		return passed
	}
	at := newRateCap(kbps)
	if got := sent(&at, 100, 10); got != 1000 {
		t.Errorf("at the cap %d of 1000 packets passed", got)
	}
	over := newRateCap(kbps)
	if got := sent(&over, 300, 10); got < 1000 || got > 1100 {
		t.Errorf("at three times the cap %d of 3000 packets passed, want 10 s of the cap and a second's burst (1000-1100)", got)
	}
	keyframe := newRateCap(kbps)
	for i := range 100 { // a second's worth at once: a large keyframe
		if !keyframe.allow(packet, 1e9) {
			t.Fatalf("packet %d of a keyframe worth a second of the cap was dropped", i)
		}
	}
	batched := newRateCap(kbps)
	passed := 0
	for i := range 2000 { // 200 packets/s for 10 s, in batches of 10 a microsecond apart
		if batched.allow(packet, 1e9+int64(i/10)*50e6+int64(i%10)*1e3) {
			passed++
		}
	}
	if passed < 1000 || passed > 1100 {
		t.Errorf("at twice the cap, in batches, %d of 2000 packets passed, want 1000-1100", passed)
	}
	tiny := newRateCap(kbps)
	passed = 0
	for range 10000 { // one-byte packets at once: counted as minPacketCost each
		if tiny.allow(13, 1e9) {
			passed++
		}
	}
	if want := kbps * 1000 / 8 / minPacketCost; passed != want {
		t.Errorf("%d of 10000 tiny packets at once passed, want a second of the cap at %d bytes each: %d", passed, minPacketCost, want)
	}
	if huge := newRateCap(1 << 62); !huge.allow(1<<20, 5e9) {
		t.Error("a cap of 2^62 kbit/s (configured by mistake) dropped a packet")
	}
	if none := newRateCap(0); !none.allow(1<<20, 0) {
		t.Error("no cap dropped a packet")
	}
}

// A pion publisher sending 800 kbit/s to a server that caps publishers at
// 200 has the excess dropped and counted; a viewer still gets video.
func TestAPublisherOverTheCapIsCut(t *testing.T) {
	s, err := New(Config{Transport: TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true}, PublishKbps: 200})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	publish(t, s, "room-cap", "alice", testpeer.Options{})
	video := publishedVideo(t, s, "room-cap", "alice")
	v := subscribe(t, s, "room-cap", "bob", "alice")
	waitFor(t, "video at the viewer", 5*time.Second, func() bool { return v.stats("video").packets > 20 })
	before := video.stats.bytes.Load()
	time.Sleep(3 * time.Second)
	forwarded := video.stats.bytes.Load() - before
	if limit := uint64(4 * 200 * 1000 / 8); forwarded > limit || video.stats.dropped[dropOverRate].Load() == 0 {
		t.Fatalf("forwarded %d bytes of video in 3 s (%d dropped packets), want at most %d: 3 s of 200 kbit/s and a second's burst",
			forwarded, video.stats.dropped[dropOverRate].Load(), limit)
	}
}
