package sfu

import "testing"

// resendSink records the sequence numbers resent to it.
type resendSink struct {
	countingSink
	resent []uint16
}

func (r *resendSink) Resend(p *Packet) { r.resent = append(r.resent, p.SequenceNumber) }

// A relay asks, in the source's own numbering, for packets it missed: the
// track resends those still in its cache after its next packet, and only
// to a Tap still on that track.
func TestATapResendsFromTheTracksCacheInTheSourcesNumbering(t *testing.T) {
	s := startSFU(t)
	viewer, err := s.Join("room-r", "relay")
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Close()
	sink := &resendSink{}
	tap := viewer.Follow("pusher", SourceMain, sink, nil)
	pub, err := s.Join("room-r", "pusher", SourceMain)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	track, err := pub.PublishTrack("pusher/video", SourceMain, Codec{MimeType: MimeH264, ClockRate: 90000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		track.Write(rtpPacket(7, uint16(1000+i), i == 0))
	}
	// 1290 and 1292 are cached; 1000 was overwritten (the ring holds 256);
	// another SSRC's 1295 is not this source's.
	tap.Resend(7, 1290, 0b10)
	tap.Resend(7, 1000, 0)
	tap.Resend(8, 1295, 0)
	track.Write(rtpPacket(7, 1300, false))
	if len(sink.resent) != 2 || sink.resent[0] != 1290 || sink.resent[1] != 1292 {
		t.Fatalf("resent %v, want [1290 1292]", sink.resent)
	}
	// Once the Tap has left the track, a queued request is not answered.
	tap.Resend(7, 1299, 0)
	pub.Unpublish(track)
	track.Write(rtpPacket(7, 1301, false))
	if len(sink.resent) != 2 {
		t.Fatalf("resent %v after the tap left the track", sink.resent)
	}
}
