package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/trtcd/trtcd/internal/testpeer"
)

// nackAll asks for the 238 packets from first, 17 to an entry, over and
// over, as many entries as one large RTCP packet holds.
func nackAll(d *DownTrack, first uint16) {
	pairs := make([]rtcp.NackPair, 0, 290)
	for i := range cap(pairs) {
		pairs = append(pairs, rtcp.NackPair{PacketID: first + uint16(i%14)*17, LostPackets: 0xffff})
	}
	d.HandleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{Nacks: pairs}})
}

// A viewer that NACKs its whole cache after every packet gets no more than
// one resent packet per packet forwarded to it, beyond the first burst; the
// other viewer's NACK is answered all the same.
func TestAViewerThatNACKsEverythingGetsNoMoreThanItsBudget(t *testing.T) {
	tr := NewTrack("alice/video", KindVideo, h264, &fakeUpstream{}, NewMetrics())
	flood, fair := &fakeWriter{seqs: []uint16{}}, &fakeWriter{seqs: []uint16{}}
	dFlood, dFair := boundDownTrack(KindVideo, h264, flood), boundDownTrack(KindVideo, h264, fair)
	dFlood.Attach(tr)
	dFair.Attach(tr)
	const forwarded = 2000
	for i := range uint16(forwarded) {
		tr.Write(videoPacket(t, i))
		if i > 250 {
			nackAll(dFlood, flood.seqs[0]+i-250)
		}
		if i == 1500 { // the fair viewer lost one packet
			dFair.HandleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{{PacketID: fair.seqs[0] + 1400}}}})
		}
	}
	resent := len(flood.seqs) - forwarded
	if limit := forwarded + resendBurst; resent > limit || resent < forwarded/2 {
		t.Errorf("the flooding viewer got %d packets resent for %d forwarded: want at most %d, and some", resent, forwarded, limit)
	}
	if got := len(fair.seqs) - forwarded; got != 1 {
		t.Errorf("the fair viewer's one NACK got %d packets, want 1", got)
	}
	if tr.stats.dropped[dropResendBudget].Load() == 0 {
		t.Error("refused NACKs are not counted")
	}
}

// A lossy viewer that asks for a few packets now and then is never refused.
func TestALossyViewerIsNeverRefused(t *testing.T) {
	tr := NewTrack("alice/video", KindVideo, h264, &fakeUpstream{}, NewMetrics())
	w := &fakeWriter{seqs: []uint16{}}
	d := boundDownTrack(KindVideo, h264, w)
	d.Attach(tr)
	asked := 0
	for i := range uint16(3000) {
		tr.Write(videoPacket(t, i))
		if i > 100 && i%10 == 0 { // 20 % loss, each asked for twice
			d.HandleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{{PacketID: w.seqs[0] + i - 50, LostPackets: 0b1}}}})
			asked += 2
		}
	}
	if got := len(w.seqs) - 3000; got != asked {
		t.Fatalf("a viewer losing 20 %% got %d packets resent of %d asked for", got, asked)
	}
	if n := tr.stats.dropped[dropResendBudget].Load(); n != 0 {
		t.Fatalf("%d of its NACKed packets refused", n)
	}
}

// videoPacket is packet i of a video stream that starts with a keyframe.
func videoPacket(t *testing.T, i uint16) []byte {
	payload := []byte{0x41}
	if i == 0 {
		payload = []byte{0x65}
	}
	return rtpBytes(t, 7, 100+i, uint32(i/3)*3000, payload, i%3 == 2)
}

// A pion viewer that NACKs every packet it has had, 200 times a second,
// gets no more than a second viewer's share of resends, and the viewer
// beside it plays on, every packet delivered. (The resends are counted at
// the server: the viewer's SRTP drops a packet it already has as a replay.)
func TestANACKFloodFromAViewerIsCappedEndToEnd(t *testing.T) {
	s := startSFU(t)
	publish(t, s, "room-nack", "alice", testpeer.Options{})
	video := publishedVideo(t, s, "room-nack", "alice")
	fair := subscribe(t, s, "room-nack", "bob", "alice")
	flood := subscribe(t, s, "room-nack", "mallory", "alice")
	waitFor(t, "video at both viewers", 5*time.Second, func() bool {
		return fair.stats("video").packets > 50 && flood.stats("video").packets > 50
	})
	fairStart := fair.stats("video").packets
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		got := flood.stats("video")
		pairs := make([]rtcp.NackPair, 250) // as many as pion marshals
		for i := range pairs {
			pairs[i] = rtcp.NackPair{PacketID: uint16(got.last) - 238 + uint16(i%14)*17, LostPackets: 0xffff}
		}
		if err := flood.pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: got.ssrc, Nacks: pairs}}); err != nil {
			t.Fatalf("writing the NACKs: %v", err)
		}
	}
	forwarded := fair.stats("video").packets - fairStart
	resent, refused := video.stats.nacksAnswered.Load(), video.stats.dropped[dropResendBudget].Load()
	t.Logf("in 3 s the fair viewer got %d video packets; the flooding one had %d resent and %d refused", forwarded, resent, refused)
	if limit := uint64(2*forwarded + resendBurst); resent > limit || refused == 0 {
		t.Fatalf("%d packets resent to the flooding viewer (%d refused), want at most %d: its share and a burst", resent, refused, limit)
	}
	if got := fair.deliveredRatio("video"); got < 0.995 {
		t.Fatalf("the fair viewer's video delivered %.4f beside the flood, want ≥ 0.995", got)
	}
}
