package sfu

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// fastPublisherFor is a fast-path publisher of tr's packets from SSRC 5,
// and the encryption context of its far end (the browser's).
func fastPublisherFor(tb testing.TB, tr *Track) (*fastPublisher, *srtp.Context) {
	tb.Helper()
	key, salt := make([]byte, 16), make([]byte, 12)
	// No replay protection: a benchmark sends its packets round again.
	dec, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		tb.Fatal(err)
	}
	enc, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		tb.Fatal(err)
	}
	fp := &fastPublisher{ctx: dec}
	fp.tracks.Store(&map[uint32]*fastTrack{5: {t: tr}})
	return fp, enc
}

// srtpPacket is an encrypted video packet of SSRC 5.
func srtpPacket(tb testing.TB, enc *srtp.Context, seq uint16, payload []byte) []byte {
	tb.Helper()
	var h rtp.Header
	out, err := enc.EncryptRTP(nil, rtpBytes(tb, 5, seq, uint32(seq)*3000, payload, true), &h)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// BenchmarkFastPath measures what the media socket's reader does with a
// publisher's datagram on the fast path: decrypt, forward, and for each
// subscriber rewrite and write. It must not allocate.
func BenchmarkFastPath(b *testing.B) {
	for _, sinks := range []int{1, 4} {
		b.Run(map[int]string{1: "1sink", 4: "4sinks"}[sinks], func(b *testing.B) {
			tr := NewTrack("v", KindVideo, h264, &fakeUpstream{}, NewMetrics())
			for range sinks {
				d := boundDownTrack(KindVideo, h264, &fakeWriter{})
				d.Attach(tr)
				d.waitKeyframe.Store(false)
			}
			fp, enc := fastPublisherFor(b, tr)
			// More packets than the cache holds, so none is a duplicate
			// when they come round again.
			pkts := make([][]byte, 4*videoCacheSize)
			for i := range pkts {
				pkts[i] = srtpPacket(b, enc, uint16(i), make([]byte, 1100))
			}
			b.SetBytes(int64(len(pkts[0])))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if !fp.handle(pkts[i%len(pkts)], nil) {
					b.Fatal("not handled")
				}
			}
			b.StopTimer()
			if got := tr.stats.packets.Load(); got < uint64(b.N)*9/10 {
				b.Fatalf("%d of %d packets forwarded", got, b.N)
			}
		})
	}
}
