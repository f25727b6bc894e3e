package sfu

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/testpeer"
)

// A viewer on the fast path whose first packet is numbered 0 (an RTMP
// pusher's first, or any source's at the moment a viewer joins) plays:
// its SRTP rollover counter starts at 0, as the viewer's does. Counted as
// a wrap, it made every packet fail the viewer's authentication.
func TestAViewerWhoseFirstPacketIsNumberedZeroPlays(t *testing.T) {
	track, v := externalTrackAndFastViewer(t)
	for seq := range uint16(50) {
		track.Write(rtpPacket(4242, seq, seq == 0))
	}
	waitFor(t, "the viewer to receive the 50 packets", 5*time.Second, func() bool { return v.stats("video").packets == 50 })
}

// A fast-path viewer's numbers wrap from 65535 to 0 and it plays on: the
// encryption's rollover counter follows.
func TestAViewerPlaysAcrossTheSequenceWrap(t *testing.T) {
	track, v := externalTrackAndFastViewer(t)
	for i := range 300 {
		track.Write(rtpPacket(4242, uint16(65400+i), i == 0))
		if i%20 == 19 {
			time.Sleep(2 * time.Millisecond) // a burst no bigger than the viewer's socket buffer
		}
	}
	waitFor(t, "the viewer to receive the 300 packets", 5*time.Second, func() bool { return v.stats("video").packets == 300 })
	if st := v.stats("video"); st.maxGap != 1 {
		t.Fatalf("the viewer's numbering jumped by %d", st.maxGap)
	}
}

// externalTrackAndFastViewer is an RTMP-style publisher's video track and a
// pion viewer of it, on the fast path before the first packet.
func externalTrackAndFastViewer(t *testing.T) (*Track, *viewer) {
	t.Helper()
	s := startSFU(t)
	pub, err := s.Join("room-z", "pusher", SourceMain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.Close)
	track, err := pub.PublishTrack("pusher/video", SourceMain, h264, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := subscribe(t, s, "room-z", "viewer", "pusher")
	waitFor(t, "the viewer on the fast path", 5*time.Second, func() bool {
		sinks := track.Sinks()
		return len(sinks) == 1 && sinks[0].(*DownTrack).fast.Load() != nil
	})
	return track, v
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

// A WebRTC publisher's numbers wrap from 65535 to 0, before the fast path
// takes its track over (the rollover counter is handed over from pion's
// reader) or after (the fast path's own decryption follows), and its
// viewer gets every packet.
func TestAPublisherPlaysAcrossTheSequenceWrap(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first uint16 // the publisher's first sequence number
	}{{"wrap before the take-over", 65530}, {"wrap after it", 64900}} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSFU(t)
			local, sess := publishRTP(t, s, "room-p", "alice")
			seq := tc.first
			send := func(n int) {
				for range n {
					p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000},
						Payload: []byte{0x65, 0x88, 0x84, byte(seq)}}
					if err := local.WriteRTP(p); err != nil {
						t.Fatal(err)
					}
					seq++
					time.Sleep(2 * time.Millisecond)
				}
			}
			waitFor(t, "the publisher's track on the fast path", 10*time.Second, func() bool {
				send(5)
				sess.fastMu.Lock()
				in := sess.fastIn
				sess.fastMu.Unlock()
				return in != nil && len(*in.tracks.Load()) == 1
			})
			v := subscribe(t, s, "room-p", "viewer", "alice")
			waitFor(t, "the viewer plays", 10*time.Second, func() bool {
				send(5)
				return v.stats("video").packets > 0
			})
			if tc.first == 64900 && seq > 65300 {
				t.Skipf("the viewer played %d packets in: too late for a wrap after it", seq-tc.first) // a very slow machine
			}
			time.Sleep(100 * time.Millisecond) // what was sent has arrived
			before := v.stats("video").packets
			send(800) // across the wrap in the second case
			waitFor(t, "the viewer to get the 800 packets", 5*time.Second, func() bool { return v.stats("video").packets-before == 800 })
			if st := v.stats("video"); st.maxGap != 1 {
				t.Fatalf("the viewer's numbering jumped by %d", st.maxGap)
			}
		})
	}
}

// publishRTP publishes one H.264 track that the test writes RTP to.
func publishRTP(t *testing.T, s *SFU, room, user string) (*webrtc.TrackLocalStaticRTP, *Session) {
	t.Helper()
	pc := testpeer.NewPeer(t, testpeer.Options{})
	local, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(local); err != nil {
		t.Fatal(err)
	}
	var sess *Session
	negotiateClient(t, pc, func(offer string) (string, error) {
		var answer string
		var err error
		sess, answer, err = s.Publish(context.Background(), PublishRequest{Room: room, UserID: user, Offer: offer,
			MinBitrate: 400, MaxBitrate: 800, AllowVideo: true})
		if err == nil {
			t.Cleanup(sess.Close)
		}
		return answer, err
	})
	return local, sess
}

// Whatever its sources do (each starts anywhere, the viewer moves between
// them, pauses and resumes), the numbers a viewer gets run on by one, and
// the rewriter's wrap count with them: wraps × 65536 + seq, the index the
// viewer's SRTP counts, starts below 65536 and grows by exactly one per
// packet sent.
func TestTheRewritersRolloverFollowsWhatItSends(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 200 {
		r := rewriter{clockRate: 90000}
		var index uint64
		ssrc, seq := uint32(1), uint16(rng.Uint32())
		if run == 0 {
			seq = 0 // an RTMP push's first packet
		}
		for i := range 3000 {
			switch rng.IntN(100) {
			case 0: // another source (a republish, another layer)
				ssrc, seq = ssrc+1, uint16(rng.Uint32())
			case 1: // paused and resumed, the source running on meanwhile
				r.resync = true
				seq += uint16(rng.IntN(5000))
			}
			out, _ := r.rewrite(&Packet{SSRC: ssrc, SequenceNumber: seq, Timestamp: uint32(i) * 3000})
			got := uint64(r.wraps)<<16 | uint64(out)
			if i > 0 && got != index+1 {
				t.Fatalf("run %d, packet %d: index %d after %d", run, i, got, index)
			}
			if i == 0 && got > 0xffff {
				t.Fatalf("run %d: the first packet (numbered %d) has index %d", run, out, got)
			}
			index = got
			seq++
		}
	}
}

// A viewer's DownTrack sends nothing until its transport is up: pion would
// drop those packets unseen, and a wrap among them would put the
// subscriber's rollover counter one ahead of the viewer's. Its first packet
// after is numbered as a first packet (no wrap counted), at a keyframe.
func TestNothingIsSentBeforeTheTransportIsUp(t *testing.T) {
	tr := NewTrack("alice/video", KindVideo, h264, &fakeUpstream{}, NewMetrics())
	w := &fakeWriter{seqs: []uint16{}}
	d := NewDownTrack("t", "s", KindVideo, h264)
	d.binding.Store(&binding{ssrc: 99, pt: 96, writer: w})
	d.Attach(tr)
	seq := uint16(65530)
	write := func(n int) {
		for range n {
			tr.Write(rtpBytes(t, 5, seq, uint32(seq)*3000, []byte{0x65}, false))
			seq++
		}
	}
	write(10) // across the wrap, before the transport is up
	if w.n != 0 {
		t.Fatalf("%d packets sent before the transport was up", w.n)
	}
	d.transportReady()
	write(10)
	if w.n != 10 || w.seqs[0] != 4 || d.rw.wraps != 0 {
		t.Fatalf("after the transport came up: %d packets from %v, %d wraps; want 10 from 4, 0 wraps", w.n, w.seqs, d.rw.wraps)
	}
}

// At the take-over a publisher's track may have missed its numbers'
// wrap: pion's reader drops the packets it held, and they can span it.
// The fast path then finds the rollover counter with the first packet
// that authenticates; a forged packet before it settles nothing.
func TestTheFastPathFindsAWrapItsTrackMissed(t *testing.T) {
	key, salt := make([]byte, 16), make([]byte, 14)
	enc, _ := srtp.CreateContext(key, salt, srtp.ProtectionProfileAes128CmHmacSha1_80)
	dec, _ := srtp.CreateContext(key, salt, srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.SRTPReplayProtection(srtpReplayWindow))
	var sealed [][]byte
	for seq := uint16(65533); seq != 3; seq++ { // 65533 … 65535, 0 … 2
		b, err := enc.EncryptRTP(nil, rtpBytes(t, 5, seq, uint32(seq)*3000, []byte{0x65, byte(seq)}, false), nil)
		if err != nil {
			t.Fatal(err)
		}
		sealed = append(sealed, b)
	}
	tr := NewTrack("alice/video", KindVideo, h264, &fakeUpstream{}, NewMetrics())
	fp := &fastPublisher{ctx: dec}
	fp.tracks.Store(&map[uint32]*fastTrack{5: {t: tr, roc: 0}}) // the track saw 65533 only
	forged := slices.Clone(sealed[4])
	forged[len(forged)-1] ^= 1
	for _, b := range [][]byte{forged, sealed[4], sealed[5]} { // 1 (forged), 1, 2
		fp.handle(b, nil)
	}
	if got, bad := tr.stats.packets.Load(), tr.stats.dropped[dropMalformed].Load(); got != 2 || bad != 1 {
		t.Fatalf("%d packets forwarded and %d refused; want 2 and the forged one", got, bad)
	}
}
