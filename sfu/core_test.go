package sfu

import (
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// rtpBytes builds a packet as a publisher would send it.
func rtpBytes(t testing.TB, ssrc uint32, seq uint16, ts uint32, payload []byte, ext bool) []byte {
	t.Helper()
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}, Payload: payload}
	if ext {
		p.Header.SetExtension(1, []byte{1, 2, 3})
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFindsPayloadPastExtensionsAndPadding(t *testing.T) {
	var p Packet
	raw := rtpBytes(t, 7, 100, 9000, []byte{0x65, 1, 2, 3}, true)
	n := copy(p.Buffer(), raw)
	if err := p.parse(n); err != nil {
		t.Fatal(err)
	}
	if p.SSRC != 7 || p.SequenceNumber != 100 || p.Timestamp != 9000 || string(p.Payload()) != "\x65\x01\x02\x03" {
		t.Fatalf("parsed %+v payload %x", p, p.Payload())
	}
	padded := append(rtpBytes(t, 7, 101, 9000, []byte{9}, false), 0, 0, 3)
	padded[0] |= 0x20
	n = copy(p.Buffer(), padded)
	if err := p.parse(n); err != nil || string(p.Payload()) != "\x09" || p.PaddingSize() != 3 {
		t.Fatalf("padding: %v payload %x", err, p.Payload())
	}
	for _, bad := range [][]byte{nil, make([]byte, 11), {0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}} {
		n = copy(p.Buffer(), bad)
		if err := p.parse(n); err == nil {
			t.Errorf("parse(%x) accepted garbage", bad)
		}
	}
}

func TestKeyframeDetection(t *testing.T) {
	for _, tc := range []struct {
		mime    string
		payload []byte
		want    bool
	}{
		{MimeH264, []byte{0x65, 0x88}, true},                               // IDR
		{MimeH264, []byte{0x41, 0x9a}, false},                              // P slice
		{MimeH264, []byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce}, true}, // STAP-A with SPS
		{MimeH264, []byte{0x7c, 0x85, 0xb8}, true},                         // FU-A start of IDR
		{MimeH264, []byte{0x7c, 0x05, 0xb8}, false},                        // FU-A middle
		{MimeVP8, []byte{0x10, 0x00}, true},                                // S=1, P=0
		{MimeVP8, []byte{0x10, 0x01}, false},
		{MimeVP8, []byte{0x90, 0x80, 0x81, 0x02, 0x00}, true}, // X, I with 2-byte picture id
		{MimeH264, nil, false},
	} {
		if got := isKeyframe(tc.mime, tc.payload); got != tc.want {
			t.Errorf("%s %x: keyframe=%v", tc.mime, tc.payload, got)
		}
	}
}

func packetAt(t testing.TB, ssrc uint32, seq uint16, ts uint32, arrival int64) *Packet {
	p := &Packet{}
	n := copy(p.Buffer(), rtpBytes(t, ssrc, seq, ts, []byte{1}, false))
	if err := p.parse(n); err != nil {
		t.Fatal(err)
	}
	p.Arrival = arrival
	return p
}

// A subscriber sees one continuous stream when the publisher republishes
// with a new SSRC and random initial numbers after a pause.
func TestRewriterContinuesAcrossRepublish(t *testing.T) {
	r := rewriter{clockRate: 90000}
	var lastSeq uint16
	var lastTS uint32
	for i := range 100 {
		seq, ts := r.rewrite(packetAt(t, 1, uint16(65500+i), uint32(3000*i), int64(i)*33e6))
		if i > 0 && seq != lastSeq+1 {
			t.Fatalf("packet %d: seq %d after %d", i, seq, lastSeq)
		}
		lastSeq, lastTS = seq, ts
	}
	// Republished 2 s later from another SSRC with unrelated numbers.
	seq, ts := r.rewrite(packetAt(t, 2, 17, 123456789, 99*33e6+2e9))
	if seq != lastSeq+1 {
		t.Fatalf("after republish: seq %d, want %d", seq, lastSeq+1)
	}
	if d := ts - lastTS; d < 179000 || d > 181000 {
		t.Fatalf("after a 2 s pause the timestamp advanced by %d, want about 180000", d)
	}
	// NACKs map back to the new source only.
	if ssrc, src, ok := r.source(seq); !ok || ssrc != 2 || src != 17 {
		t.Fatalf("source(%d) = %d %d %v", seq, ssrc, src, ok)
	}
	if _, _, ok := r.source(seq - 1); ok {
		t.Fatal("a NACK for the previous source must not be answered with the new one")
	}
}

// fakeWriter stands in for pion's SRTP writer and records what it gets.
type fakeWriter struct {
	seqs []uint16
	n    int
}

func (w *fakeWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if w.seqs != nil {
		w.seqs = append(w.seqs, h.SequenceNumber)
	}
	w.n++
	return len(payload), nil
}
func (w *fakeWriter) Write(b []byte) (int, error) { return len(b), nil }

type fakeUpstream struct{ plis int }

func (u *fakeUpstream) RequestKeyframe(uint32) { u.plis++ }

func boundDownTrack(kind Kind, codec Codec, w *fakeWriter) *DownTrack {
	d := NewDownTrack("t", "s", kind, codec)
	d.binding.Store(&binding{ssrc: 99, pt: 96, writer: w})
	d.ready.Store(true)
	return d
}

var h264 = Codec{MimeType: MimeH264, ClockRate: 90000, SDPFmtpLine: "packetization-mode=1"}

func TestTrackFansOutAndAnswersNACKsFromItsCache(t *testing.T) {
	up := &fakeUpstream{}
	tr := NewTrack("alice/video", KindVideo, h264, up, NewMetrics())
	w1, w2 := &fakeWriter{seqs: []uint16{}}, &fakeWriter{seqs: []uint16{}}
	d1, d2 := boundDownTrack(KindVideo, h264, w1), boundDownTrack(KindVideo, h264, w2)
	d1.Attach(tr)
	d2.Attach(tr)
	if up.plis != 1 {
		t.Fatalf("%d keyframe requests for two new viewers within 500 ms, want 1", up.plis)
	}
	tr.Write(rtpBytes(t, 5, 1000, 0, []byte{0x41}, false)) // delta frame: viewers wait
	tr.Write(rtpBytes(t, 5, 1001, 0, []byte{0x65}, true))  // keyframe
	for i := uint16(2); i < 10; i++ {
		tr.Write(rtpBytes(t, 5, 1000+i, 3000, []byte{0x41}, false))
	}
	tr.Write(rtpBytes(t, 5, 1005, 3000, []byte{0x41}, false)) // a duplicate
	if len(w1.seqs) != 9 || len(w2.seqs) != 9 {
		t.Fatalf("sinks got %d and %d packets, want 9 each (keyframe on)", len(w1.seqs), len(w2.seqs))
	}
	// Viewer 1 lost its 3rd and 5th packets: one NACK entry.
	first := w1.seqs[0]
	d1.HandleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{{PacketID: first + 2, LostPackets: 0b10}}}})
	tr.Write(rtpBytes(t, 5, 1010, 6000, []byte{0x41}, false))
	got := w1.seqs[len(w1.seqs)-3:]
	if got[0] != first+9 || got[1] != first+2 || got[2] != first+4 {
		t.Fatalf("after the NACK viewer 1 got %v, want [%d %d %d]", got, first+9, first+2, first+4)
	}
	if len(w2.seqs) != 10 {
		t.Fatalf("viewer 2 got %d packets: resends must go only to the viewer who asked", len(w2.seqs))
	}
	d2.Detach()
	tr.Write(rtpBytes(t, 5, 1011, 6000, []byte{0x41}, false))
	if len(w2.seqs) != 10 {
		t.Fatal("a detached viewer still receives packets")
	}
}

// A new viewer's keyframe request passes no throttle: it is sent at once
// unless a request is still waiting for its keyframe, which the new viewer
// then gets too. Viewers' own requests (PLIs) stay throttled.
func TestANewViewersKeyframeRequestIsNotThrottled(t *testing.T) {
	up := &fakeUpstream{}
	tr := NewTrack("alice/video", KindVideo, h264, up, NewMetrics())
	boundDownTrack(KindVideo, h264, &fakeWriter{}).Attach(tr)
	boundDownTrack(KindVideo, h264, &fakeWriter{}).Attach(tr)
	if up.plis != 1 {
		t.Fatalf("two viewers before the keyframe came: %d requests, want 1 (the keyframe on its way serves both)", up.plis)
	}
	tr.Write(rtpBytes(t, 5, 1000, 0, []byte{0x65}, true)) // the keyframe
	boundDownTrack(KindVideo, h264, &fakeWriter{}).Attach(tr)
	if up.plis != 2 {
		t.Fatalf("a viewer just after the keyframe: %d requests, want 2 (no throttle)", up.plis)
	}
	tr.RequestKeyframe() // a viewer's PLI right after
	if up.plis != 2 {
		t.Fatalf("a PLI within the throttle went out: %d requests", up.plis)
	}
}

// A viewer still waiting for its first keyframe a second after the request
// asks again (a request can be lost, or ignored by the publisher's
// encoder), once per second whatever the number of waiting viewers, and
// stops asking once the keyframe has come.
func TestAWaitingViewerAsksAgainForItsKeyframe(t *testing.T) {
	up := &fakeUpstream{}
	tr := NewTrack("alice/video", KindVideo, h264, up, NewMetrics())
	w := &fakeWriter{}
	boundDownTrack(KindVideo, h264, w).Attach(tr)
	boundDownTrack(KindVideo, h264, &fakeWriter{}).Attach(tr)
	tr.Write(rtpBytes(t, 5, 1000, 0, []byte{0x41}, false))
	if up.plis != 1 {
		t.Fatalf("a delta frame just after the request: %d requests, want 1", up.plis)
	}
	tr.lastKeyframeRequest.Add(-int64(keyframeRetry)) // as if a second had gone by
	tr.Write(rtpBytes(t, 5, 1001, 3000, []byte{0x41}, false))
	tr.Write(rtpBytes(t, 5, 1002, 6000, []byte{0x41}, false))
	if up.plis != 2 {
		t.Fatalf("two viewers still waiting a second later: %d requests, want 2", up.plis)
	}
	tr.Write(rtpBytes(t, 5, 1003, 9000, []byte{0x65}, true))
	tr.lastKeyframeRequest.Add(-int64(keyframeRetry))
	tr.Write(rtpBytes(t, 5, 1004, 12000, []byte{0x41}, false))
	if up.plis != 2 || w.n != 2 {
		t.Fatalf("after the keyframe: %d requests (want 2), %d packets sent (want 2)", up.plis, w.n)
	}
}

// BenchmarkFanOut measures the forwarding path from a packet read to the
// SRTP writer of each subscriber: it must not allocate.
func BenchmarkFanOut(b *testing.B) {
	for _, sinks := range []int{1, 4} {
		b.Run(map[int]string{1: "1sink", 4: "4sinks"}[sinks], func(b *testing.B) {
			tr := NewTrack("v", KindVideo, h264, &fakeUpstream{}, NewMetrics())
			for range sinks {
				d := boundDownTrack(KindVideo, h264, &fakeWriter{})
				d.Attach(tr)
				d.waitKeyframe.Store(false)
			}
			raw := rtpBytes(b, 5, 0, 0, make([]byte, 1100), true)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				buf := tr.cache.slot().Buffer()
				n := copy(buf, raw)
				buf[2], buf[3] = byte(i>>8), byte(i) // next sequence number
				tr.forward(n, monotonic(), nil)
			}
		})
	}
}
