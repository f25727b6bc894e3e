package bench

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"

	"github.com/trtcd/trtcd/internal/rawudp"
)

// rawLoop is a raw publisher sending straight to a raw viewer's socket on
// loopback, with the same keys at both ends: the engine's send and receive
// paths without a server or a session.
type rawLoop struct {
	poller *rawudp.Poller
	pub    *rawPublisher
	view   *rawViewer
	pair   *Pair
}

func newRawLoop(tb testing.TB) *rawLoop {
	tb.Helper()
	profile := srtp.ProtectionProfileAeadAes128Gcm
	key, salt := make([]byte, 16), make([]byte, 12)
	for i := range key {
		key[i] = byte(i + 1)
	}
	context := func() *srtp.Context {
		c, err := srtp.CreateContext(key, salt, profile,
			srtp.SRTPReplayProtection(64), srtp.SRTCPReplayProtection(64))
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}
	poller, err := rawudp.NewPoller()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { poller.Close() })
	pubSock, viewSock := rawTestSocket(tb, poller), rawTestSocket(tb, poller)
	l := &rawLoop{poller: poller, pair: newPair(pairSpec{})}
	l.pair.latency.values = make([]float64, 0, l.pair.latency.cap)
	l.pub = &rawPublisher{rawSession: &rawSession{sock: pubSock}, frames: newRawFrames(600, 25), sent: &l.pair.sent,
		srtp: context(), srtcp: context(), wire: new([rawWireSize]byte), gso: rawudp.SupportsGSO(),
		batch: rawudp.NewBatch(viewSock.sock.LocalAddr())}
	l.pub.video.ssrc, l.pub.video.pt = 1111, 102
	l.pub.audio.ssrc, l.pub.audio.pt = 2222, 111
	now := time.Now()
	l.pub.nextAudio, l.pub.nextVideo, l.pub.nextKeyframe = now, now, now
	l.view = &rawViewer{rawSession: &rawSession{sock: viewSock}, pair: l.pair, srtp: context()}
	l.view.kinds[102], l.view.kinds[111] = kindVideo, kindAudio
	viewSock.takeMedia(l.view.receive)
	return l
}

func rawTestSocket(tb testing.TB, p *rawudp.Poller) *rawSocket {
	s, err := listenRaw(p, loopback)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// step sends what is due a frame later and receives all of it; it returns
// the packets that went each way.
func (l *rawLoop) step(now time.Time) int {
	before := l.pair.sent.Load()
	l.pub.sendDue(now)
	sent := l.pair.sent.Load() - before
	// Loopback delivers as it sends, unless the kernel defers the work
	// to its softirq thread on a busy machine: then poll again.
	want := l.pair.Received.Load() + sent
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if err := l.poller.Poll(); err != nil {
			panic(err)
		}
		if l.pair.Received.Load() >= want || time.Now().After(deadline) {
			return int(sent)
		}
	}
}

// The raw engine's per-packet work — building, stamping, encrypting and
// sending with sendmmsg; receiving with recvmmsg, decrypting and
// accounting — allocates nothing, keyframes included.
func TestRawPathAllocatesNothing(t *testing.T) {
	l := newRawLoop(t)
	now := time.Now()
	packets := 0
	allocs := testing.AllocsPerRun(200, func() { // 8 s of media: four keyframes
		now = now.Add(40 * time.Millisecond)
		packets += l.step(now)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per frame", allocs)
	}
	var lost, received uint64
	for _, st := range l.pair.streams {
		lost += st.Seq.Lost()
		received += st.Seq.Received
	}
	if received != uint64(packets) || lost != 0 || l.pair.latency.Count() == 0 {
		t.Fatalf("received %d of %d sent, %d lost, %d latency samples", received, packets, lost, l.pair.latency.Count())
	}
}

// A PLI from the server makes the publisher's next frame a keyframe. Reading
// SRTCP costs at most one allocation, pion's own (AES-GCM's additional
// authenticated data escapes to the heap); it comes a few times a second,
// not per media packet.
func TestRawPublisherAnswersPLI(t *testing.T) {
	l := newRawLoop(t)
	const n = 50
	plis := make([][]byte, n+1)
	for i := range plis {
		pli, _ := (&rtcp.PictureLossIndication{MediaSSRC: 1111}).Marshal()
		rr, _ := (&rtcp.ReceiverReport{SSRC: 9}).Marshal()
		var err error
		if plis[i], err = l.pub.srtcp.EncryptRTCP(nil, append(rr, pli...), nil); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	if a := testing.AllocsPerRun(n, func() { l.pub.receiveRTCP(plis[i], time.Now()); i++ }); a > 1 {
		t.Fatalf("%v allocations per RTCP packet", a)
	}
	if l.pub.keyframeAsks.Load() != n+1 || !l.pub.keyframeWanted.Load() {
		t.Fatalf("%d keyframe requests seen", l.pub.keyframeAsks.Load())
	}
	// the send side checks it on the next frame
	l.pub.nextKeyframe = time.Now().Add(time.Hour)
	l.pub.nextVideo = time.Now()
	before := l.pair.sent.Load()
	l.pub.sendDue(time.Now())
	if sent := l.pair.sent.Load() - before; sent < int64(len(l.pub.frames.keyframe)) || l.pub.keyframeWanted.Load() {
		t.Fatalf("sent %d packets after a PLI; a keyframe is %d", sent, len(l.pub.frames.keyframe))
	}
}

// The synthetic video is what the SFU's keyframe detector and the latency
// stamps expect: a keyframe opens with SPS and PPS, then an IDR in FU-A
// fragments whose first takes the stamp.
func TestRawFramesShape(t *testing.T) {
	f := newRawFrames(600, 25)
	if k := f.keyframe; k[0][0]&0x1f != 24 || k[0][3]&0x1f != 7 || k[1][0]&0x1f != 28 || k[1][1] != 0x80|5 || stampOffset(k[1]) != rawStampFUA {
		t.Fatalf("keyframe starts % x / % x", f.keyframe[0][:4], f.keyframe[1][:2])
	}
	for _, p := range append(f.keyframe, f.delta...) {
		if len(p) > rawMaxPayload {
			t.Fatalf("payload of %d bytes", len(p))
		}
	}
	if last := f.keyframe[len(f.keyframe)-1]; last[1]&0x40 == 0 {
		t.Fatal("the IDR's last fragment lacks the end bit")
	}
}

// BenchmarkRawSendReceive is the generator's CPU per packet, sent plus
// received (both ends in this process, so each packet counts twice).
func BenchmarkRawSendReceive(b *testing.B) {
	l := newRawLoop(b)
	now := time.Now()
	packets := 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		now = now.Add(40 * time.Millisecond)
		packets += l.step(now)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*packets), "ns/packet-end")
}
