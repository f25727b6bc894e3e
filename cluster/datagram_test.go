package cluster

import (
	"bufio"
	"context"
	"encoding/binary"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/sfu"
)

// rtp is an RTP packet of size bytes.
func rtp(ssrc uint32, seq uint16, size int) []byte {
	b := make([]byte, size)
	b[0], b[1] = 0x80, 96
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], uint32(seq)*3000)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	b[12] = 0x41 // an H.264 slice
	return b
}

// A peer asks node a for a track, as a near side does: live packets come in
// datagrams named by the answer's stream id, a packet larger than a
// datagram can be comes on the control stream instead of being lost, and a
// NACK is answered from the publisher's cache on the control stream.
func TestTheFarSideSendsWhatADatagramCannotTakeAndResendsOnTheControlStream(t *testing.T) {
	ca := testCA(t)
	n := startTestNode(t, ca, StartRedis(t), "a")
	media := n.cfg.SFU
	alice, err := media.Join("r", "alice", sfu.SourceMain)
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	track, err := alice.PublishTrack("alice/video", sfu.SourceMain, sfu.Codec{MimeType: sfu.MimeH264, ClockRate: 90000}, nil)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := quic.DialAddr(ctx, n.RelayAddr(), clientTLS(testCredentials(t, ca, "b")), quicConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseWithError(0, "")
	st, err := c.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeLine(st, hello{Room: "r", User: "alice", Kind: "video"}); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(st)
	var a answer
	if err := readLine(r, &a); err != nil || a.Error != "" || a.Stream == 0 || a.MimeType != sfu.MimeH264 {
		t.Fatalf("answer %+v, %v", a, err)
	}
	if _, err := st.Write([]byte{feedbackStart}); err != nil {
		t.Fatal(err)
	}
	type arrival struct {
		seq      uint16
		size     int
		onStream bool
	}
	arrivals := make(chan arrival, 1000)
	go func() {
		for {
			b, err := c.ReceiveDatagram(ctx)
			if err != nil {
				return
			}
			if id := binary.BigEndian.Uint32(b); id != a.Stream {
				t.Errorf("a datagram for stream %d, want %d", id, a.Stream)
			}
			arrivals <- arrival{binary.BigEndian.Uint16(b[datagramHeader+2:]), len(b) - datagramHeader, false}
		}
	}()
	go func() {
		buf := make([]byte, sfu.MaxPacketSize)
		for {
			n, err := readPacket(r, buf)
			if err != nil {
				return
			}
			arrivals <- arrival{binary.BigEndian.Uint16(buf[2:]), n, true}
		}
	}()
	next := func() arrival {
		t.Helper()
		select {
		case p := <-arrivals:
			return p
		case <-ctx.Done():
			t.Fatal("no packet within 30 s")
			return arrival{}
		}
	}

	// Every fifth packet is as large as an RTP packet may be: more than
	// QUIC's datagram limit on a 1500-byte path.
	const ssrc = 77
	for seq := range uint16(20) {
		size := 200
		if seq%5 == 4 {
			size = sfu.MaxPacketSize
		}
		track.Write(rtp(ssrc, seq, size))
	}
	for range 20 {
		p := next()
		if large := p.seq%5 == 4; p.onStream != large || (large && p.size != sfu.MaxPacketSize) {
			t.Errorf("packet %d (%d bytes) came on the stream: %v", p.seq, p.size, p.onStream)
		}
	}

	// The near side asks for 3 and 5 again; the track answers after its
	// next packet.
	var b [1 + nackSize]byte
	b[0] = feedbackNACK
	nack{ssrc: ssrc, pid: 3, blp: 0b10}.put(b[1:])
	if _, err := st.Write(b[:]); err != nil {
		t.Fatal(err)
	}
	resent := map[uint16]bool{}
	deadline := time.Now().Add(10 * time.Second)
	for seq := uint16(20); len(resent) < 2 && time.Now().Before(deadline); seq++ {
		track.Write(rtp(ssrc, seq, 200))
		time.Sleep(5 * time.Millisecond)
		for len(arrivals) > 0 {
			if p := next(); p.seq < 20 {
				if !p.onStream {
					t.Errorf("resent packet %d came in a datagram", p.seq)
				}
				resent[p.seq] = true
			}
		}
	}
	if !resent[3] || !resent[5] {
		t.Fatalf("resent %v, want 3 and 5", resent)
	}

	// The near side's viewers can take 300 kbps: the publisher's track on
	// this node knows, so its cap follows them down.
	b[0] = feedbackBitrate
	binary.BigEndian.PutUint32(b[1:5], 300)
	if _, err := st.Write(b[:5]); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for track.Estimate() != 300_000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if e := track.Estimate(); e != 300_000 {
		t.Fatalf("the publisher's track estimates %d bits/s after the near side said 300 kbps", e)
	}
}

// A panic while the datagram loop hands a datagram to its track (a track
// left broken by a bug) drops that datagram, counted: the loop's other
// tracks still get theirs.
func TestAPanicOnTheDatagramLoopDropsOnlyThatDatagram(t *testing.T) {
	video := sfu.NewTrack("alice/video", sfu.KindVideo, sfu.Codec{MimeType: sfu.MimeH264, ClockRate: 90000}, nil, sfu.NewMetrics())
	sink := &countSink{}
	video.AddSink(sink)
	d := &demux{log: slog.Default()}
	var pullStats, nodeStats relayStats
	d.tracks.Store(&map[uint32]*relayIn{
		1: newRelayIn(nil, &pullStats, &nodeStats), // the bug: no track
		2: newRelayIn(video, &pullStats, &nodeStats),
	})
	datagram := func(id uint32, seq uint16) []byte {
		b := binary.BigEndian.AppendUint32(nil, id)
		return append(b, rtp(7, seq, 100)...)
	}
	before := panics.Count(panics.Relay)
	for seq := range uint16(5) {
		d.deliver(datagram(1, seq))
		d.deliver(datagram(2, seq))
	}
	if got := panics.Count(panics.Relay) - before; got != 5 {
		t.Fatalf("%v panics counted, want 5 (one a datagram of the broken track)", got)
	}
	if got := sink.n.Load(); got != 5 {
		t.Fatalf("the other track forwarded %d of 5 datagrams", got)
	}
}

// countSink counts the packets a track gives it.
type countSink struct{ n atomic.Int64 }

func (s *countSink) WriteRTP(*sfu.Packet) { s.n.Add(1) }
