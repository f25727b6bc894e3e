package cluster

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/replay"
	"github.com/trtcd/trtcd/sfu"
)

// testMediaKey is a key both ends of a test hold, as both ends of a
// connection export the same one.
func testMediaKey(t testing.TB, id byte) *mediaKey {
	m := bytes.Repeat([]byte{7}, mediaKeyMaterial)
	m[mediaKeyMaterial-1] = id
	return newMediaKey(m)
}

// sealRecords seals one datagram with counter carrying each packet as a
// record of stream id.
func sealRecords(k *mediaKey, counter uint64, id uint32, packets ...[]byte) []byte {
	b := make([]byte, mediaHeader, mediaDatagramMax)
	for _, p := range packets {
		rec := make([]byte, mediaRecordHdr)
		putRecordHeader(rec, id, len(p))
		b = append(append(b, rec...), p...)
	}
	return k.seal(b, counter)
}

// A sealed datagram with two packets reaches its track once: a copy of it
// (a replay), one changed on the way, one sealed with another key and one
// too old to tell from a replay are dropped, each counted.
func TestASealedDatagramIsTakenOnceAndForgedOrReplayedOnesAreDroppedAndCounted(t *testing.T) {
	r, d, sink, totals := sealedReceivers()
	key := testMediaKey(t, 1)
	if !r.add(key, d) {
		t.Fatal("the key was refused")
	}
	if r.add(testMediaKey(t, 1), d) {
		t.Fatal("a second key with the same id was taken")
	}
	deliver := func(b []byte) { r.deliver(bytes.Clone(b)) } // deliver opens in place

	first := sealRecords(key, 1, 3, rtp(9, 1, 200), rtp(9, 2, 1000))
	deliver(first)
	if got := sink.n.Load(); got != 2 || totals[countSealed].Load() != 2 {
		t.Fatalf("the track forwarded %d packets, %d counted sealed; want 2", got, totals[countSealed].Load())
	}

	deliver(first) // replayed
	changed := sealRecords(key, 2, 3, rtp(9, 3, 200))
	changed[mediaHeader+10] ^= 1
	deliver(changed)
	deliver(sealRecords(testMediaKey(t, 2), 3, 3, rtp(9, 4, 200)))   // another connection's key id: unknown here
	deliver(sealRecords(key, replay.Size+2, 3, rtp(9, 5, 200)))      // genuine, moves the window on
	deliver(sealRecords(key, 2, 3, rtp(9, 6, 200)))                  // never seen, but too old to tell
	deliver(sealRecords(key, replay.Size+2, 3, rtp(9, 7, 200))[:20]) // truncated
	if got := sink.n.Load(); got != 3 {
		t.Errorf("the track forwarded %d packets, want the 2 first and 1 genuine", got)
	}
	if f, rp := totals[countForged].Load(), totals[countReplayed].Load(); f != 3 || rp != 2 {
		t.Errorf("counted %d forged and %d replayed, want 3 and 2", f, rp)
	}

	r.remove(key)
	deliver(sealRecords(key, replay.Size+3, 3, rtp(9, 8, 200)))
	if got := sink.n.Load(); got != 3 {
		t.Errorf("a datagram reached the track after its connection's key was removed")
	}
}

// A packet as large as an RTP packet may be does not fit a sealed datagram
// and goes on the control stream; the largest that fits goes sealed.
func TestOnlyPacketsThatFitASealedDatagramGoSealed(t *testing.T) {
	out := relayOut{sealed: &mediaOut{}}
	for _, c := range []struct {
		size   int
		resend bool
		want   bool
	}{{mediaPacketMax, false, true}, {mediaPacketMax + 1, false, false}, {200, true, false}} {
		if got := out.sealable(&pktCopy{n: c.size, resend: c.resend}); got != c.want {
			t.Errorf("a %d-byte packet (resend %v) sealable: %v, want %v", c.size, c.resend, got, c.want)
		}
	}
	if mediaHeader+mediaRecordHdr+mediaPacketMax+mediaTag != mediaDatagramMax {
		t.Errorf("the largest sealable packet makes a %d-byte datagram", mediaHeader+mediaRecordHdr+mediaPacketMax+mediaTag)
	}
}

// BenchmarkSealAndDeliver is one 1,000-byte packet's way through the
// media path's CPU work, both ends: packed and sealed, then opened,
// checked against the replay window and written to its track.
func BenchmarkSealAndDeliver(b *testing.B) {
	r, d, _, totals := sealedReceivers()
	key := testMediaKey(b, 1)
	r.add(key, d)
	packet := rtp(9, 0, 1000)
	buf := make([]byte, mediaDatagramMax)
	b.ReportAllocs()
	b.SetBytes(int64(len(packet)))
	for i := range b.N {
		binary.BigEndian.PutUint16(packet[2:], uint16(i))
		putRecordHeader(buf[mediaHeader:], 3, len(packet))
		copy(buf[mediaHeader+mediaRecordHdr:], packet)
		r.deliver(key.seal(buf[:mediaHeader+mediaRecordHdr+len(packet)], uint64(i+1)))
	}
	if totals[countSealed].Load() != uint64(b.N) {
		b.Fatalf("%d of %d delivered", totals[countSealed].Load(), b.N)
	}
}

// The packets waiting for a peer's writer go in as few sealed datagrams as
// fit in 1,400 bytes, several tracks' packets together, and each buffer
// goes back to its track's sink.
func TestPacketsWaitingTogetherGoInAsFewSealedDatagramsAsFit(t *testing.T) {
	sock, err := listenRelay("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	var sent atomic.Uint64
	o := &mediaOut{key: testMediaKey(t, 1), sock: sock.(*relaySocket), to: peer.LocalAddr().(*net.UDPAddr).AddrPort(),
		queue: make(chan *pktCopy, mediaQueue), sent: &sent, log: slog.Default()}
	audio, video := newRelaySink(), newRelaySink()
	audio.id, video.id = 1, 2
	packet := func(s *relaySink, seq uint16, size int) *pktCopy {
		c := &pktCopy{sink: s}
		c.n = copy(c.b[datagramHeader:], rtp(9, seq, size))
		return c
	}

	// An audio packet and two video packets wait: the audio packet and the
	// first video packet share a datagram, the second does not fit.
	o.queue <- packet(video, 2, 1000)
	o.queue <- packet(video, 3, 1000)
	o.sendRound(packet(audio, 1, 100))

	key := testMediaKey(t, 1)
	var got []string
	buf := make([]byte, 2048)
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	for range 2 {
		n, err := peer.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n > mediaDatagramMax {
			t.Errorf("a %d-byte datagram", n)
		}
		records, ok := key.open(buf[:n])
		if !ok {
			t.Fatal("a datagram does not open with the connection's key")
		}
		var d []string
		for len(records) >= mediaRecordHdr {
			id, size := binary.BigEndian.Uint32(records), int(binary.BigEndian.Uint16(records[4:]))
			seq := binary.BigEndian.Uint16(records[mediaRecordHdr+2:])
			d = append(d, fmt.Sprintf("track %d packet %d (%d bytes)", id, seq, size))
			records = records[mediaRecordHdr+size:]
		}
		got = append(got, strings.Join(d, ", "))
	}
	want := []string{"track 1 packet 1 (100 bytes), track 2 packet 2 (1000 bytes)", "track 2 packet 3 (1000 bytes)"}
	if !slices.Equal(got, want) {
		t.Errorf("datagrams:\n%q\nwant\n%q", got, want)
	}
	if sent.Load() != 3 || len(audio.free) != 1 || len(video.free) != 2 {
		t.Errorf("%d packets counted sent; buffers back: audio %d, video %d; want 3, 1, 2", sent.Load(), len(audio.free), len(video.free))
	}
}

// The AES-GCM key changes every 2²⁴ datagrams: datagrams on both sides of
// a change open, so does a late one from the epoch before, and one sealed
// with the old epoch's key but numbered in the new epoch is forged.
func TestSealedDatagramsCrossAKeyEpoch(t *testing.T) {
	r, d, sink, totals := sealedReceivers()
	r.add(testMediaKey(t, 1), d)
	sender := testMediaKey(t, 1)

	last := uint64(1)<<mediaEpochBits - 1 // of the first epoch
	r.deliver(sealRecords(sender, last-1, 3, rtp(9, 1, 200)))
	r.deliver(sealRecords(sender, last+1, 3, rtp(9, 3, 200)))                 // the next epoch
	r.deliver(sealRecords(sender, last, 3, rtp(9, 2, 200)))                   // late, from the epoch before
	r.deliver(sealInEpochZero(testMediaKey(t, 1), last+2, 3, rtp(9, 4, 200))) // the old key, numbered in the new epoch
	if got := sink.n.Load(); got != 3 {
		t.Errorf("the track forwarded %d packets, want 3", got)
	}
	if f := totals[countForged].Load(); f != 1 {
		t.Errorf("%d datagrams counted forged, want 1", f)
	}
	if _, ok := testMediaKey(t, 1).open(sealInEpochZero(testMediaKey(t, 1), 5, 3, rtp(9, 5, 200))); !ok {
		t.Error("sealInEpochZero's datagram does not open even in the first epoch")
	}
}

// sealInEpochZero seals a datagram numbered counter as sealRecords does,
// but with the first epoch's key whatever the counter's epoch.
func sealInEpochZero(k *mediaKey, counter uint64, id uint32, packet []byte) []byte {
	b := make([]byte, mediaHeader+mediaRecordHdr, mediaDatagramMax)
	putRecordHeader(b[mediaHeader:], id, len(packet))
	b = append(b, packet...)
	b[0] = mediaMagic
	binary.BigEndian.PutUint32(b[1:], k.id)
	binary.BigEndian.PutUint64(b[5:], counter)
	plain := b[mediaHeader:]
	return b[:mediaHeader+len(k.derive(0).Seal(plain[:0], k.nonceFor(counter), plain, b[:mediaHeader]))]
}

// sealedReceivers are a node's receivers of sealed datagrams with one
// connection's demultiplexer, d, which routes stream id 3 to a video track
// whose packets sink counts; totals are the node's figures.
func sealedReceivers() (r *mediaReceivers, d *demux, sink *countSink, totals *relayStats) {
	video := sfu.NewTrack("alice/video", sfu.KindVideo, sfu.Codec{MimeType: sfu.MimeH264, ClockRate: 90000}, nil, sfu.NewMetrics())
	sink, totals = &countSink{}, &relayStats{}
	video.AddSink(sink)
	d = &demux{}
	d.tracks.Store(&map[uint32]*relayIn{3: newRelayIn(video, &relayStats{}, totals)})
	return newMediaReceivers(nil, totals), d, sink, totals
}
