package sfu

import (
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"
)

// countingSink counts packets and keyframe packets it is given.
type countingSink struct{ packets, keyframes atomic.Int64 }

func (c *countingSink) WriteRTP(p *Packet) {
	c.packets.Add(1)
	if p.Keyframe {
		c.keyframes.Add(1)
	}
}

// keyRequests counts keyframe requests reaching an external publisher.
type keyRequests struct{ n atomic.Int64 }

func (k *keyRequests) RequestKeyframe(uint32) { k.n.Add(1) }

// rtpPacket is a single-NALU H.264 packet: an IDR slice when key.
func rtpPacket(ssrc uint32, seq uint16, key bool) []byte {
	b := make([]byte, 12, 16)
	b[0], b[1] = 0x80, 96
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], uint32(seq)*3000)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	nal := byte(0x41) // non-IDR slice
	if key {
		nal = 0x65
	}
	return append(b, nal, 0x88, 0x84, 0x00)
}

// An RTMP-style publisher (no PeerConnection) and an FLV-style viewer (a
// Tap) in one room: the Tap asks for a keyframe when it attaches, gets the
// packets, and follows the publisher to its next session.
func TestExternalPublisherAndTapFollowRepublish(t *testing.T) {
	s := startSFU(t)
	viewer, err := s.Join("room-x", "player")
	if err != nil {
		t.Fatal(err)
	}
	sink := &countingSink{}
	tap := viewer.Follow("pusher", SourceMain, sink, func(c Codec) bool { return c.MimeType == MimeH264 })

	for round, ssrc := range []uint32{1111, 2222} {
		pub, err := s.Join("room-x", "pusher", SourceMain)
		if err != nil {
			t.Fatal(err)
		}
		up := &keyRequests{}
		track, err := pub.PublishTrack("pusher/video", SourceMain, Codec{MimeType: MimeH264, ClockRate: 90000}, up)
		if err != nil {
			t.Fatal(err)
		}
		if tap.Track() != track || up.n.Load() == 0 {
			t.Fatalf("round %d: the tap is on %p (want %p), %d keyframe requests", round, tap.Track(), track, up.n.Load())
		}
		before := sink.packets.Load()
		for i := range 100 {
			track.Write(rtpPacket(ssrc, uint16(i), i%50 == 0))
		}
		if got := sink.packets.Load() - before; got != 100 {
			t.Fatalf("round %d: the tap got %d of 100 packets", round, got)
		}
		pub.Unpublish(track)
		if tap.Track() != nil {
			t.Fatal("the tap is still attached to an unpublished track")
		}
		pub.Close()
	}
	if sink.keyframes.Load() != 4 {
		t.Fatalf("%d keyframe packets, want 4", sink.keyframes.Load())
	}
	// Leaving ends the tap: a new publisher is not followed any more.
	viewer.Close()
	pub, _ := s.Join("room-x", "pusher", SourceMain)
	defer pub.Close()
	track, err := pub.PublishTrack("pusher/video", SourceMain, Codec{MimeType: MimeH264, ClockRate: 90000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "no tap", time.Second, func() bool { return tap.Track() == nil && len(track.Sinks()) == 0 })
}
