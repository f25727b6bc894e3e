package sfu

import (
	"testing"
	"time"
)

// A viewer on the fast path whose first packet is numbered 0 (an RTMP
// pusher's first, or any source's at the moment a viewer joins) plays:
// its SRTP rollover counter starts at 0, as the viewer's does. Counted as
// a wrap, it made every packet fail the viewer's authentication.
func TestAViewerWhoseFirstPacketIsNumberedZeroPlays(t *testing.T) {
	s := startSFU(t)
	pub, err := s.Join("room-z", "pusher", SourceMain)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	track, err := pub.PublishTrack("pusher/video", SourceMain, h264, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := subscribe(t, s, "room-z", "viewer", "pusher")
	waitFor(t, "the viewer on the fast path", 5*time.Second, func() bool {
		sinks := track.Sinks()
		return len(sinks) == 1 && sinks[0].(*DownTrack).fast.Load() != nil
	})
	for seq := range uint16(50) {
		track.Write(rtpPacket(4242, seq, seq == 0))
	}
	waitFor(t, "the viewer to receive the 50 packets", 5*time.Second, func() bool { return v.stats("video").packets == 50 })
}

// The rewriter counts a wrap only after a packet it sent.
func TestTheFirstPacketIsNoWrap(t *testing.T) {
	r := rewriter{clockRate: 90000}
	for _, seq := range []uint16{0, 30000, 60000, 65535, 5} {
		r.rewrite(&Packet{SSRC: 1, SequenceNumber: seq})
	}
	if r.wraps != 1 {
		t.Fatalf("%d wraps after 0, 30000, 60000, 65535, 5; want 1", r.wraps)
	}
}
