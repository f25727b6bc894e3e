package sfu

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// sentPacket is what a subscriber received: its numbering, and the layer
// and source sequence number the test wrote into the payload.
type sentPacket struct {
	seq   uint16
	ts    uint32
	layer byte
	src   uint16
	key   bool // belongs to a keyframe (an IDR's FU-A fragment)
	start bool // the first fragment of a frame
}

// recorder stands in for the subscriber's SRTP writer and keeps what it
// got. It is not synchronised: only one goroutine at a time may write to a
// DownTrack, which the race detector checks.
type recorder struct{ pkts []sentPacket }

func (w *recorder) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.pkts = append(w.pkts, sentPacket{
		seq: h.SequenceNumber, ts: h.Timestamp, layer: payload[2],
		src: uint16(payload[3])<<8 | uint16(payload[4]),
		key: payload[1]&0x1f == naluIDR, start: payload[1]&0x80 != 0,
	})
	return len(payload), nil
}
func (w *recorder) Write(b []byte) (int, error) { return len(b), nil }

// testLayer is one of a publisher's streams (big or small), sending H.264
// frames of two FU-A fragments.
type testLayer struct {
	tr   *Track
	up   *fakeUpstream
	id   byte
	ssrc uint32
	seq  uint16
	ts   uint32
}

func newTestLayer(id byte, ssrc uint32, seq uint16, ts uint32) *testLayer {
	up := &fakeUpstream{}
	return &testLayer{tr: NewTrack(string(id), KindVideo, h264, up, NewMetrics()), up: up, id: id, ssrc: ssrc, seq: seq, ts: ts}
}

// frame sends one frame and returns its packets' sequence numbers.
func (l *testLayer) frame(t testing.TB, key bool) []uint16 {
	typ := byte(1)
	if key {
		typ = naluIDR
	}
	var seqs []uint16
	for i, fu := range []byte{0x80 | typ, 0x40 | typ} { // start, end
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: l.seq, Timestamp: l.ts, SSRC: l.ssrc, Marker: i == 1},
			Payload: []byte{0x7c, fu, l.id, byte(l.seq >> 8), byte(l.seq)}}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		l.tr.Write(b)
		seqs = append(seqs, l.seq)
		l.seq++
	}
	l.ts += 3000
	return seqs
}

type layerPacket struct {
	layer byte
	src   uint16
}

// switchModel is what the subscriber should get: the active layer's
// packets, and the target's from its first keyframe after the request.
type switchModel struct {
	active, pending *testLayer
	want            []layerPacket
}

func (m *switchModel) frame(t testing.TB, l *testLayer, key bool) {
	seqs := l.frame(t, key)
	if l == m.pending && key {
		m.active, m.pending = l, nil
	}
	if l == m.active {
		for _, s := range seqs {
			m.want = append(m.want, layerPacket{l.id, s})
		}
	}
}

// tick is 33 ms of both layers: a frame each.
func (m *switchModel) tick(t testing.TB, big, small *testLayer, bigKey, smallKey bool) {
	m.frame(t, big, bigKey)
	m.frame(t, small, smallKey)
}

func waitSettled(t *testing.T, d *DownTrack) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); d.sw.Load() != nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the switch did not settle")
		}
	}
}

// checkContinuous: the subscriber's numbers follow each other with no gap
// or repeat, its timestamps never go back and move on at a change of
// layer, and each change of layer starts with a keyframe's first packet.
func checkContinuous(t *testing.T, pkts []sentPacket) (changes int) {
	t.Helper()
	for i := 1; i < len(pkts); i++ {
		prev, p := pkts[i-1], pkts[i]
		if p.seq != prev.seq+1 {
			t.Fatalf("packet %d: seq %d after %d", i, p.seq, prev.seq)
		}
		if d := int32(p.ts - prev.ts); d < 0 {
			t.Fatalf("packet %d: timestamp went back by %d", i, -d)
		}
		if p.layer != prev.layer {
			changes++
			if !p.key || !p.start {
				t.Fatalf("packet %d: layer %c starts with %+v, not a keyframe's first packet", i, p.layer, p)
			}
			if p.ts == prev.ts {
				t.Fatalf("packet %d: layer %c's keyframe has the timestamp of the last frame of %c", i, p.layer, prev.layer)
			}
		}
	}
	return changes
}

// A subscriber on the big stream switches to the small one and back. Each
// time the old stream flows until the target's keyframe, asked for at the
// request, and the subscriber sees one continuous stream.
func TestSwitchBetweenBigAndSmallAtKeyframes(t *testing.T) {
	big, small := newTestLayer('B', 1111, 65000, 1<<31), newTestLayer('S', 2222, 100, 42)
	d, w := subscribedTo(big.tr)
	m := &switchModel{active: big}

	m.tick(t, big, small, true, true)
	for range 5 {
		m.tick(t, big, small, false, false)
	}
	plis := small.up.plis
	d.SwitchTo(small.tr)
	if small.up.plis != plis+1 {
		t.Fatalf("%d keyframe requests to the small stream at the switch, want 1", small.up.plis-plis)
	}
	if d.Switching() != small.tr || d.Track() != big.tr {
		t.Fatal("before the small stream's keyframe the subscriber must stay on the big one")
	}
	m.pending = small
	sentBefore := len(w.pkts)
	for range 10 {
		m.tick(t, big, small, false, false)
	}
	if got := len(w.pkts) - sentBefore; got != 20 {
		t.Fatalf("%d packets while waiting for the small stream's keyframe, want the big stream's 20", got)
	}
	m.tick(t, big, small, false, true) // the small stream's keyframe
	for range 5 {
		m.tick(t, big, small, true, false) // the big stream's keyframes no longer matter
	}
	waitSettled(t, d)
	if d.Track() != small.tr || len(big.tr.Sinks()) != 0 || len(small.tr.Sinks()) != 1 || small.tr.Sinks()[0] != Sink(d) {
		t.Fatalf("after the switch: source %v, big's sinks %v, small's %v", d.Track().ID, big.tr.Sinks(), small.tr.Sinks())
	}

	// And back. The big stream was asked for a keyframe moments ago: as if
	// that were half a second ago, so the request is not held back.
	big.tr.lastKeyframeRequest.Store(monotonic() - int64(keyframeInterval))
	plis = big.up.plis
	d.SwitchTo(big.tr)
	if big.up.plis != plis+1 {
		t.Fatalf("%d keyframe requests to the big stream at the switch, want 1", big.up.plis-plis)
	}
	m.pending = big
	for i := range 7 {
		m.tick(t, big, small, false, i%3 == 0)
	}
	m.tick(t, big, small, true, false)
	for range 5 {
		m.tick(t, big, small, false, false)
	}
	waitSettled(t, d)
	if d.Track() != big.tr || len(small.tr.Sinks()) != 0 || len(big.tr.Sinks()) != 1 {
		t.Fatal("the subscriber is not back on the big stream alone")
	}

	if len(w.pkts) != len(m.want) {
		t.Fatalf("the subscriber got %d packets, want %d", len(w.pkts), len(m.want))
	}
	for i, p := range w.pkts {
		if (layerPacket{p.layer, p.src}) != m.want[i] {
			t.Fatalf("packet %d: got %c/%d, want %c/%d", i, p.layer, p.src, m.want[i].layer, m.want[i].src)
		}
	}
	if n := checkContinuous(t, w.pkts); n != 2 {
		t.Fatalf("%d changes of layer, want 2", n)
	}
}

// While the target sends no keyframe the subscriber stays on its source
// (no black, no undecodable frames); giving up the switch, or detaching,
// leaves the DownTrack on one track only.
func TestSwitchWaitsForTheTargetsKeyframe(t *testing.T) {
	big, small := newTestLayer('B', 1111, 1, 0), newTestLayer('S', 2222, 7, 0)
	d, w := subscribedTo(big.tr)
	m := &switchModel{active: big}
	m.tick(t, big, small, true, false)
	d.SwitchTo(small.tr)
	if small.up.plis != 1 {
		t.Fatal("no keyframe request to the small stream")
	}
	for range 60 {
		m.tick(t, big, small, false, false)
	}
	if d.Track() != big.tr || d.Switching() != small.tr {
		t.Fatal("the subscriber left the big stream without a keyframe of the small one")
	}
	d.SwitchTo(big.tr) // changed its mind
	if d.Switching() != nil || len(small.tr.Sinks()) != 0 || len(big.tr.Sinks()) != 1 {
		t.Fatal("the abandoned switch is still in progress")
	}
	for range 3 {
		m.tick(t, big, small, false, true) // small keyframes no longer matter
	}
	if len(w.pkts) != len(m.want) || len(w.pkts) != 2*64 {
		t.Fatalf("the subscriber got %d packets, want the big stream's %d", len(w.pkts), 2*64)
	}
	if n := checkContinuous(t, w.pkts); n != 0 {
		t.Fatalf("%d changes of layer, want none", n)
	}

	// A switch in progress ends with the DownTrack's detachment.
	d.SwitchTo(small.tr)
	d.Detach()
	if d.Track() != nil || d.Switching() != nil || len(small.tr.Sinks())+len(big.tr.Sinks()) != 0 {
		t.Fatal("a detached DownTrack is still a sink")
	}
	// The publisher stops its big stream during a switch to the small one:
	// the subscriber goes on with the small one.
	d.Attach(big.tr)
	d.SwitchTo(small.tr)
	d.detachFrom(big.tr)
	if d.Track() != small.tr || d.Switching() != nil || len(big.tr.Sinks()) != 0 || len(small.tr.Sinks()) != 1 {
		t.Fatal("after the big stream ended the subscriber is not on the small one")
	}
}

// Both layers forward on goroutines of their own while the subscriber
// switches back and forth, some switches completing, some abandoned: only
// one goroutine at a time writes to it (run with -race), and its numbering
// stays continuous.
func TestSwitchingBetweenLiveLayers(t *testing.T) {
	big, small := newTestLayer('B', 1111, 0, 0), newTestLayer('S', 2222, 30000, 5)
	d, w := subscribedTo(big.tr)
	var wg sync.WaitGroup
	for _, l := range []*testLayer{big, small} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20000 {
				l.frame(t, i%10 == 0)
				runtime.Gosched()
			}
		}()
	}
	fed := make(chan struct{})
	go func() { wg.Wait(); close(fed) }()
	running := func() bool {
		select {
		case <-fed:
			return false
		default:
			return true
		}
	}
	for i := 0; running(); i++ {
		target := small.tr
		if i%2 == 1 {
			target = big.tr
		}
		d.SwitchTo(target)
		for i%3 != 0 && d.Switching() != nil && running() {
			runtime.Gosched()
		}
	}
	d.Detach()
	if n := checkContinuous(t, w.pkts); n == 0 {
		t.Fatalf("%d packets forwarded and no switch completed", len(w.pkts))
	} else {
		t.Logf("%d packets, %d changes of layer", len(w.pkts), n)
	}
}

// subscribedTo is a connected subscriber's video DownTrack on source, and
// what it writes.
func subscribedTo(source *Track) (*DownTrack, *recorder) {
	w := &recorder{}
	d := NewDownTrack("t", "s", KindVideo, h264)
	d.binding.Store(&binding{ssrc: 99, pt: 96, writer: w})
	d.ready.Store(true)
	d.Attach(source)
	return d, w
}
