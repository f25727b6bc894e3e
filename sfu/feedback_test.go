package sfu

import (
	"sync"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// The REMB a publisher gets is its maxBitrate, lower when a viewer's link
// is worse, and never below its minBitrate.
func TestBitrateCapFollowsTheWorstViewer(t *testing.T) {
	tr := NewTrack("v", KindVideo, h264, &fakeUpstream{}, nil)
	good, poor := boundDownTrack(KindVideo, h264, &fakeWriter{}), boundDownTrack(KindVideo, h264, &fakeWriter{})
	good.Attach(tr)
	poor.Attach(tr)
	if got := capFor(tr, 400, 800); got != 800_000 {
		t.Fatalf("no estimates: cap %d, want maxBitrate", got)
	}
	good.HandleRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 2_000_000}})
	poor.HandleRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 550_000}})
	if got := capFor(tr, 400, 800); got != 550_000 {
		t.Fatalf("a viewer at 550 kbps: cap %d", got)
	}
	poor.HandleRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 100_000}})
	if got := capFor(tr, 400, 800); got != 400_000 {
		t.Fatalf("a viewer at 100 kbps: cap %d, want minBitrate", got)
	}
	poor.SetPaused(true) // it turned the video off
	if got := capFor(tr, 400, 800); got != 800_000 {
		t.Fatalf("the poor viewer paused the video: cap %d, want maxBitrate (the good viewer's 2 Mbit/s is above it)", got)
	}
	poor.SetPaused(false)
	if got := capFor(tr, 400, 800); got != 400_000 {
		t.Fatalf("the poor viewer resumed: cap %d, want minBitrate", got)
	}
	poor.estimateAt.Store(monotonic() - int64(estimateLifetime) - 1) // its one REMB, long ago
	good.estimateAt.Store(monotonic())
	if got := capFor(tr, 400, 800); got != 800_000 {
		t.Fatalf("the poor viewer's REMB is %v old: cap %d, want maxBitrate", estimateLifetime, got)
	}
}

// A viewer's sender report carries its own SSRC and timestamps: the
// publisher's RTP time shifted by the viewer's offset, at the same NTP time.
func TestSenderReportIsTranslated(t *testing.T) {
	tr := NewTrack("v", KindVideo, h264, &fakeUpstream{}, nil)
	d := boundDownTrack(KindVideo, h264, &fakeWriter{})
	d.Attach(tr)
	d.waitKeyframe.Store(false)
	// The viewer first saw another source, so its offsets are not zero.
	d.WriteRTP(packetAt(t, 1, 100, 5000, 0))
	tr.Write(rtpBytes(t, 7, 30000, 90000, []byte{0x41}, false))
	ssrc, offset := uint32(d.mapping.Load()>>32), uint32(d.mapping.Load())
	if ssrc != 7 || offset == 0 {
		t.Fatalf("mapping %d/%d", ssrc, offset)
	}
	if _, ok := d.SenderReport(monotonic()); ok {
		t.Fatal("a report before the publisher sent one")
	}
	tr.SetSenderReport(7, 0xAABBCCDD_00000000, 90000)
	sr, ok := d.SenderReport(tr.lastSR.Load().arrival)
	if !ok || sr.SSRC != 99 || sr.NTPTime != 0xAABBCCDD_00000000 || sr.RTPTime != 90000+offset {
		t.Fatalf("report %+v, want SSRC 99, the same NTP time and RTP time %d", sr, 90000+offset)
	}
	if sr.PacketCount != 2 {
		t.Fatalf("packet count %d, want 2", sr.PacketCount)
	}
}

// blockingWriter stands in for a TCP viewer whose socket is full.
type blockingWriter struct{ unblock chan struct{} }

func (w *blockingWriter) WriteRTP(*rtp.Header, []byte) (int, error) { <-w.unblock; return 0, nil }
func (w *blockingWriter) Write(b []byte) (int, error)               { <-w.unblock; return len(b), nil }

// A viewer that cannot keep up (a full TCP socket) does not hold up the
// others: its packets queue, then drop, and it waits for a keyframe.
func TestSlowViewerDoesNotDelayOthers(t *testing.T) {
	up := &fakeUpstream{}
	tr := NewTrack("v", KindVideo, h264, up, NewMetrics())
	fast := boundDownTrack(KindVideo, h264, &fakeWriter{})
	slowW := &blockingWriter{unblock: make(chan struct{})}
	slow := NewDownTrack("slow", "s", KindVideo, h264)
	slow.binding.Store(&binding{ssrc: 98, pt: 96, writer: slowW})
	slow.ready.Store(true)
	slow.setQueued(true)
	for _, d := range []*DownTrack{fast, slow} {
		d.Attach(tr)
		d.waitKeyframe.Store(false)
	}
	for i := range 1000 {
		tr.Write(rtpBytes(t, 5, uint16(i), uint32(i)*3000, []byte{0x41, 1, 2}, false))
	}
	if n := fast.sentPackets.Load(); n != 1000 {
		t.Fatalf("the fast viewer got %d of 1000 packets", n)
	}
	if dropped := tr.stats.dropped[dropSlowSubscriber].Load(); dropped == 0 {
		t.Fatal("the slow viewer's overflow was not dropped")
	}
	if !slow.waitKeyframe.Load() {
		t.Fatal("after dropping, the slow viewer must wait for a keyframe")
	}
	close(slowW.unblock)
	slow.setQueued(false)
}

// A viewer moved back and forth between two live tracks while it sends
// NACKs is only ever touched by one track's goroutine (run with -race).
func TestMovingAViewerBetweenLiveTracks(t *testing.T) {
	opus := Codec{MimeType: MimeOpus, ClockRate: 48000}
	t1, t2 := NewTrack("a", KindAudio, opus, nil, nil), NewTrack("b", KindAudio, opus, nil, nil)
	d := NewDownTrack("x", "y", KindAudio, opus)
	d.binding.Store(&binding{ssrc: 1, pt: 111, writer: &fakeWriter{}})
	d.ready.Store(true)
	d.Attach(t1)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, src := range []struct {
		tr   *Track
		ssrc uint32
	}{{t1, 11}, {t2, 22}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				src.tr.Write(rtpBytes(t, src.ssrc, uint16(i), uint32(i*960), []byte{1}, false))
			}
		}()
	}
	for i := range 2000 {
		d.HandleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{{PacketID: 5, LostPackets: 0xffff}}}})
		if i%2 == 0 {
			d.Attach(t2)
		} else {
			d.Attach(t1)
		}
	}
	close(stop)
	wg.Wait()
	if n := len(t1.Sinks()) + len(t2.Sinks()); n != 1 {
		t.Fatalf("the viewer is in %d sink lists, want exactly one", n)
	}
}

// The fast path's NACK generator asks for each missing packet a few times,
// forgets packets that arrive late, and packs neighbours into one pair.
func TestNackGenerator(t *testing.T) {
	asked := map[uint16]int{}
	var sent int
	g := &nackGenerator{send: func(_ uint32, pairs []rtcp.NackPair) {
		sent++
		for _, p := range pairs {
			for _, seq := range p.PacketList() {
				asked[seq]++
			}
		}
	}}
	at := int64(0)
	arrive := func(seq uint16) {
		at += int64(5e6) // 5 ms apart
		g.observe(&Packet{SequenceNumber: seq, SSRC: 7, Arrival: at})
	}
	for _, s := range []uint16{65530, 65531, 65534, 65535, 2} { // 65532, 65533, 0 and 1 lost, across the wrap
		arrive(s)
	}
	if asked[65532] != 1 || asked[65533] != 1 {
		t.Fatalf("the first gap was not asked for at once: %v", asked)
	}
	arrive(65533) // a retransmission
	for s := uint16(3); s < 60; s++ {
		arrive(s)
	}
	if asked[65533] != 1 {
		t.Fatalf("65533 was asked for again after it arrived: %v", asked)
	}
	for _, seq := range []uint16{65532, 0, 1} {
		if asked[seq] != nackTries {
			t.Fatalf("%d asked for %d times, want %d: %v", seq, asked[seq], nackTries, asked)
		}
	}
	if len(asked) != 4 {
		t.Fatalf("asked for packets that were not missing: %v", asked)
	}
}
