package sfu

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/testpeer"
)

// mediaWorkers runs the SFU's tests with that many media sockets
// (go test ./sfu -args -media-workers=4); 0 is the default, GOMAXPROCS.
var mediaWorkers = flag.Int("media-workers", 0, "media sockets (workers) of the SFUs the tests start")

func startSFU(t *testing.T) *SFU { return startSFUWith(t, false, *mediaWorkers) }

// startSFUWith starts an SFU; slowPath keeps all media in pion's pipeline,
// workers is TransportConfig.Workers.
func startSFUWith(t testing.TB, slowPath bool, workers int) *SFU {
	t.Helper()
	return startSFUConfig(t, TransportConfig{SlowPath: slowPath, Workers: workers})
}

// startSFUConfig starts an SFU on loopback with tc's other settings.
func startSFUConfig(t testing.TB, tc TransportConfig) *SFU {
	t.Helper()
	tc.UDPAddr, tc.TCPAddr, tc.LoopbackOnly = "127.0.0.1:0", "127.0.0.1:0", true
	s, err := New(Config{
		Transport: tc,
		Metrics:   NewMetrics(),
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// publisher is a pion client sending synthetic H.264 + Opus.
type publisher struct {
	pc      *webrtc.PeerConnection
	session *Session
	cancel  context.CancelFunc
}

func publish(t *testing.T, s *SFU, room, user string, opts testpeer.Options) *publisher {
	t.Helper()
	pc := testpeer.NewPeer(t, opts)
	src, err := testpeer.NewSource(user, 800, 25)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.AddTo(pc); err != nil {
		t.Fatal(err)
	}
	var session *Session
	negotiateClient(t, pc, func(offer string) (string, error) {
		sess, answer, err := s.Publish(context.Background(), PublishRequest{Room: room, UserID: user, Offer: offer,
			MinBitrate: 400, MaxBitrate: 800, AllowAudio: true, AllowVideo: true})
		if err == nil {
			session = sess
			t.Cleanup(sess.Close)
		}
		return answer, err
	})
	ctx, cancel := context.WithCancel(context.Background())
	go src.Run(ctx)
	p := &publisher{pc: pc, session: session, cancel: cancel}
	t.Cleanup(p.stop)
	return p
}

// publishedVideo waits for user's main video in room and returns it.
func publishedVideo(t testing.TB, s *SFU, room, user string) *Track {
	t.Helper()
	var video *Track
	waitFor(t, user+"'s video", 5*time.Second, func() bool {
		if r := s.rooms[room]; r != nil {
			video = r.track(user, SourceMain)
		}
		return video != nil
	})
	return video
}

func (p *publisher) stop() {
	p.cancel()
	p.pc.Close()
}

// negotiateClient makes the client's offer, passes it to the server and
// applies the answer.
func negotiateClient(t testing.TB, pc *webrtc.PeerConnection, server func(offer string) (string, error)) {
	t.Helper()
	testpeer.Offer(t, pc)
	answer, err := server(pc.LocalDescription().SDP)
	if err != nil {
		t.Fatalf("server refused the offer: %v", err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
}

// viewer is a pion client receiving a publisher's tracks, recording the
// sequence numbers it gets per kind.
type viewer struct {
	pc *webrtc.PeerConnection
	mu sync.Mutex
	rx map[string]*received // by kind
}

type received struct {
	codec     string
	seqs      map[uint64]bool
	first     uint64
	last      uint64
	ssrc      uint32
	maxGap    uint64 // largest step between consecutive new packets
	cycles    uint64
	prev      uint16
	started   bool
	packets   int
	lastAdded uint64
}

func (r *received) add(seq uint16) {
	if !r.started {
		r.started, r.prev, r.first, r.last = true, seq, uint64(seq), uint64(seq)
	}
	if seq < 0x1000 && r.prev > 0xf000 {
		r.cycles += 1 << 16
	}
	ext := r.cycles + uint64(seq)
	if seq > 0xf000 && r.prev < 0x1000 && r.cycles > 0 {
		ext -= 1 << 16 // a late packet from before the wrap
	}
	r.prev = seq
	r.packets++
	if !r.seqs[ext] {
		r.seqs[ext] = true
		if ext > r.last {
			if gap := ext - r.last; gap > r.maxGap && r.packets > 1 {
				r.maxGap = gap
			}
			r.last = ext
		}
	}
}

// delivered is the share of the sequence range that arrived.
func (r *received) delivered() float64 {
	if !r.started {
		return 0
	}
	return float64(len(r.seqs)) / float64(r.last-r.first+1)
}

func subscribe(t testing.TB, s *SFU, room, user, publisherID string, opts ...testpeer.Options) *viewer {
	t.Helper()
	var o testpeer.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	pc := testpeer.NewPeer(t, o)
	v := &viewer{pc: pc, rx: map[string]*received{}}
	if err := testpeer.ReceiveAudioVideo(pc); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		r := &received{codec: tr.Codec().MimeType, ssrc: uint32(tr.SSRC()), seqs: map[uint64]bool{}}
		v.mu.Lock()
		v.rx[tr.Kind().String()] = r
		v.mu.Unlock()
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			v.mu.Lock()
			r.add(p.SequenceNumber)
			v.mu.Unlock()
		}
	})
	negotiateClient(t, pc, func(offer string) (string, error) {
		sess, answer, err := s.Subscribe(context.Background(), SubscribeRequest{Room: room, UserID: user, Publisher: publisherID,
			Offer: offer, AllowAudio: true, AllowVideo: true})
		if err == nil {
			t.Cleanup(sess.Close)
		}
		return answer, err
	})
	return v
}

// stats returns a copy of what a kind received so far.
func (v *viewer) stats(kind string) received {
	v.mu.Lock()
	defer v.mu.Unlock()
	if r := v.rx[kind]; r != nil {
		c := *r
		c.seqs = nil
		c.packets = len(r.seqs)
		return c
	}
	return received{}
}

func (v *viewer) deliveredRatio(kind string) float64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	if r := v.rx[kind]; r != nil {
		return r.delivered()
	}
	return 0
}

var waitFor = testpeer.WaitFor

// A viewer receives a publisher's H.264 and Opus at 800 kbps with every
// packet, in order, and keeps receiving one continuous stream when the
// publisher republishes.
func TestPublishSubscribeAndRepublish(t *testing.T) {
	s := startSFU(t)
	pub := publish(t, s, "room-1", "alice", testpeer.Options{})
	waitFor(t, "alice's tracks", 5*time.Second, func() bool { return s.rooms["room-1"] != nil && s.rooms["room-1"].track("alice", SourceMain) != nil })
	v := subscribe(t, s, "room-1", "bob", "alice")
	waitFor(t, "video and audio at the viewer", 5*time.Second, func() bool {
		return v.stats("video").packets > 50 && v.stats("audio").packets > 20
	})
	time.Sleep(3 * time.Second)
	video, audio := v.stats("video"), v.stats("audio")
	t.Logf("video: %d packets, delivered %.4f, max gap %d; audio: %d packets, delivered %.4f",
		video.packets, v.deliveredRatio("video"), video.maxGap, audio.packets, v.deliveredRatio("audio"))
	if video.codec != webrtc.MimeTypeH264 || audio.codec != webrtc.MimeTypeOpus {
		t.Fatalf("codecs %s and %s, want H.264 and Opus", video.codec, audio.codec)
	}
	// The TRTC Web SDK reads byte 2 of a downlink's video SSRC: 2 is the
	// main video.
	if tag := video.ssrc >> 16 & 0xff; tag != ssrcTagMain {
		t.Fatalf("video SSRC %08x has byte 2 = %d, want %d (the main video)", video.ssrc, tag, ssrcTagMain)
	}
	if tag := audio.ssrc >> 16 & 0xff; tag != ssrcTagAudio {
		t.Fatalf("audio SSRC %08x has byte 2 = %d, want %d", audio.ssrc, tag, ssrcTagAudio)
	}
	if v.deliveredRatio("video") < 0.995 || v.deliveredRatio("audio") < 0.995 {
		t.Fatalf("delivered video %.4f audio %.4f, want ≥ 0.995", v.deliveredRatio("video"), v.deliveredRatio("audio"))
	}
	assertFastPath(t, s, "room-1", "alice")

	// Alice republishes: a new PeerConnection, new SSRCs, new numbering.
	pub.stop()
	before := v.stats("video")
	time.Sleep(500 * time.Millisecond)
	publish(t, s, "room-1", "alice", testpeer.Options{})
	waitFor(t, "video after the republish", 8*time.Second, func() bool { return v.stats("video").last > before.last+50 })
	after := v.stats("video")
	if after.maxGap > 1 {
		t.Fatalf("the viewer saw a sequence jump of %d across the republish", after.maxGap)
	}
	if v.stats("audio").maxGap > 1 {
		t.Fatalf("audio jumped by %d across the republish", v.stats("audio").maxGap)
	}
}

// With 5 % of the publisher's packets lost on the way in, NACKs bring what
// the viewer gets back above 99 %, on the fast path (with the default
// workers and with two) and on pion's.
func TestNACKRecoversUplinkLoss(t *testing.T) {
	for _, tc := range []struct {
		name    string
		slow    bool
		workers int
	}{{"fast path", false, *mediaWorkers}, {"fast path, 2 workers", false, 2}, {"pion's path", true, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			testNACKRecoversUplinkLoss(t, startSFUWith(t, tc.slow, tc.workers))
		})
	}
}

func testNACKRecoversUplinkLoss(t *testing.T, s *SFU) {
	var dropped atomic.Int64
	publish(t, s, "room-2", "alice", testpeer.Options{UplinkLoss: 0.05, Dropped: &dropped})
	waitFor(t, "alice's tracks", 5*time.Second, func() bool { return s.rooms["room-2"] != nil && s.rooms["room-2"].track("alice", SourceMain) != nil })
	v := subscribe(t, s, "room-2", "bob", "alice")
	waitFor(t, "video at the viewer", 5*time.Second, func() bool { return v.stats("video").packets > 50 })
	time.Sleep(4 * time.Second)
	got := v.deliveredRatio("video")
	t.Logf("uplink dropped %d packets; viewer video delivered %.4f (%d packets)", dropped.Load(), got, v.stats("video").packets)
	if dropped.Load() < 20 {
		t.Fatalf("only %d packets were dropped: the loss was not injected", dropped.Load())
	}
	if got < 0.99 {
		t.Fatalf("delivered %.4f with NACK, want ≥ 0.99", got)
	}
}

// lyingRTCP is RTCP whose header claims far more bytes than it has.
type lyingRTCP []byte

func (l lyingRTCP) Marshal() ([]byte, error)  { return l, nil }
func (l lyingRTCP) Unmarshal([]byte) error    { return nil }
func (l lyingRTCP) DestinationSSRC() []uint32 { return nil }
func (l lyingRTCP) MarshalSize() int          { return len(l) }

// A viewer sending RTCP with lying lengths and garbage does not disturb
// the server: it keeps forwarding, to that viewer too. (pion's SRTCP session
// already discards compound packets that do not parse; the SFU's readers
// skip any that get through.)
func TestGarbageRTCPIsSkipped(t *testing.T) {
	s := startSFU(t)
	publish(t, s, "room-3", "alice", testpeer.Options{})
	waitFor(t, "alice's tracks", 5*time.Second, func() bool { return s.rooms["room-3"] != nil && s.rooms["room-3"].track("alice", SourceMain) != nil })
	v := subscribe(t, s, "room-3", "bob", "alice")
	waitFor(t, "video at the viewer", 5*time.Second, func() bool { return v.stats("video").packets > 20 })
	for i := range 200 {
		garbage := lyingRTCP{0x81, 205, 0xff, 0xff, 0, 0, 0, 1, byte(i), 0xde, 0xad, 0xbe, 0xef}
		if i%2 == 1 {
			garbage = lyingRTCP{0x80, 200, 0, 40, 1, 2, 3, 4} // a sender report cut short
		}
		if err := v.pc.WriteRTCP([]rtcp.Packet{garbage}); err != nil {
			t.Fatalf("writing RTCP: %v", err)
		}
	}
	before := v.stats("video").packets
	waitFor(t, "more video after the garbage", 5*time.Second, func() bool { return v.stats("video").packets > before+50 })

}

// A publisher that can only use TCP reaches the server over ICE-TCP, and
// viewers receive it over UDP and over TCP (through a send queue).
func TestICETCPFallback(t *testing.T) {
	s := startSFU(t)
	pub := publish(t, s, "room-4", "alice", testpeer.Options{TCPOnly: true})
	waitFor(t, "alice's tracks over TCP", 10*time.Second, func() bool {
		return s.rooms["room-4"] != nil && s.rooms["room-4"].track("alice", SourceMain) != nil
	})
	pair, err := pub.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local.Protocol != webrtc.ICEProtocolTCP {
		t.Fatalf("selected pair %v (%v), want TCP", pair, err)
	}
	v := subscribe(t, s, "room-4", "bob", "alice")
	tcpViewer := subscribe(t, s, "room-4", "carol", "alice", testpeer.Options{TCPOnly: true})
	waitFor(t, "video at both viewers", 8*time.Second, func() bool {
		return v.stats("video").packets > 100 && tcpViewer.stats("video").packets > 100
	})
	queued := 0
	for _, sink := range s.rooms["room-4"].track("alice", SourceMain).Sinks() {
		if sink.(*DownTrack).queue.Load() != nil {
			queued++
		}
	}
	if queued != 1 {
		t.Fatalf("%d video sinks are queued, want exactly the TCP viewer's", queued)
	}
	if d := tcpViewer.deliveredRatio("video"); d < 0.995 {
		t.Fatalf("the TCP viewer got %.4f of its video", d)
	}
}

// assertFastPath checks that a publisher's media and its viewers' both run
// on the fast path (fastpath.go), not through pion's SRTP pipeline.
func assertFastPath(t *testing.T, s *SFU, room, publisher string) {
	t.Helper()
	r := s.rooms[room]
	r.mu.Lock()
	sess := r.members[publisher].publishers[slotMain]
	r.mu.Unlock()
	sess.fastMu.Lock()
	in := sess.fastIn
	sess.fastMu.Unlock()
	waitFor(t, "both tracks on the fast path", 2*time.Second, func() bool { return in != nil && len(*in.tracks.Load()) == 2 })
	if in == nil || len(*in.tracks.Load()) != 2 {
		t.Fatalf("the publisher is not on the fast path")
	}
	for _, k := range []Source{SourceAudio, SourceMain} {
		for _, sink := range r.track(publisher, k).Sinks() {
			if sink.(*DownTrack).fast.Load() == nil {
				t.Fatalf("a %s viewer is not on the fast path", k)
			}
		}
	}
}

// Closing a publishing session (an unpublish, a kick) reports each of its
// tracks ended exactly once, whether the member or the track's reader goes
// first: signalling turns these into the stream-remove events others see.
func TestClosedPublisherReportsItsTracksEndedOnce(t *testing.T) {
	var mu sync.Mutex
	ended := map[Source]int{}
	s, err := New(Config{
		Transport: TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true, Workers: *mediaWorkers},
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnTrack: func(_, _ string, k Source, published bool) {
			mu.Lock()
			defer mu.Unlock()
			if !published {
				ended[k]++
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	for i := 0; i < 3; i++ {
		p := publish(t, s, "room-close", "carol", testpeer.Options{})
		waitFor(t, "carol's tracks", 5*time.Second, func() bool {
			s.mu.Lock()
			r := s.rooms["room-close"]
			s.mu.Unlock()
			return r != nil && r.track("carol", SourceMain) != nil && r.track("carol", SourceAudio) != nil
		})
		p.session.Close()
		waitFor(t, "both tracks ended", 5*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return ended[SourceAudio] == i+1 && ended[SourceMain] == i+1
		})
		p.stop()
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if ended[SourceAudio] != 3 || ended[SourceMain] != 3 {
		t.Fatalf("ended %v, want each kind exactly 3 times", ended)
	}
}
