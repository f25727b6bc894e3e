package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/testpeer"
)

// A viewer's RTCP naming ever new SSRCs (a BYE names 31) is dropped past a
// few, on the fast path and under --no-fast-path alike: pion kept a stream
// for each until the session closed, and 2,000 such BYEs, 300 KB, grew the
// server by 160 MB.
func TestRTCPNamingEverNewStreamsIsDropped(t *testing.T) {
	for _, slow := range []bool{false, true} {
		t.Run(map[bool]string{false: "fast path", true: "no fast path"}[slow], func(t *testing.T) {
			s := startSFUWith(t, slow, *mediaWorkers)
			v := newHostileViewer(t, s, "room-rtcp")
			before := heapInUse()
			for i, b := range byeFlood(2000) {
				out, err := v.srtp.EncryptRTCP(nil, b, nil)
				if err != nil {
					t.Fatal(err)
				}
				v.sock.WriteTo(out, v.server)
				if i%100 == 0 {
					time.Sleep(2 * time.Millisecond)
				}
			}
			time.Sleep(time.Second)
			if grew := int64(heapInUse()) - int64(before); grew > 30<<20 {
				t.Fatalf("2,000 SRTCP BYEs naming 62,000 SSRCs grew the heap by %d MB", grew>>20)
			}
		})
	}
}

// The same over ICE-TCP, which pion reads for itself: 155 MB before its
// connections passed the sessions' screens.
func TestRTCPOverICETCPNamingEverNewStreamsIsDropped(t *testing.T) {
	s := startSFU(t)
	publish(t, s, "room-rtcp-tcp", "alice", testpeer.Options{})
	publishedVideo(t, s, "room-rtcp-tcp", "alice")
	v := subscribe(t, s, "room-rtcp-tcp", "mallory", "alice", testpeer.Options{TCPOnly: true})
	waitFor(t, "the viewer's ICE-TCP route", 10*time.Second, func() bool {
		return v.pc.ConnectionState() == webrtc.PeerConnectionStateConnected && len(*s.t.tcpRoutes.routes.Load()) == 1
	})
	before := heapInUse()
	for _, b := range byeFlood(2000) {
		pkts, err := rtcp.Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.pc.WriteRTCP(pkts); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2 * time.Second)
	if grew := int64(heapInUse()) - int64(before); grew > 30<<20 {
		t.Fatalf("2,000 RTCP BYEs over ICE-TCP naming 60,000 SSRCs grew the heap by %d MB", grew>>20)
	}
}

// byeFlood is n BYEs from one source, each naming 30 new ones.
func byeFlood(n int) [][]byte {
	next := uint32(0x30000000)
	var out [][]byte
	for range n {
		srcs := []uint32{0x1234}
		for range 30 {
			next++
			srcs = append(srcs, next)
		}
		b, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.Goodbye{Sources: srcs}})
		out = append(out, b)
	}
	return out
}

// Empty receiver reports, each from a new sender SSRC, name no stream, but
// every SRTCP context that opened them kept replay state per sender:
// 100,000 of them, 2.7 MB, grew the server by 21 MB.
func TestRTCPFromEverNewSendersIsDropped(t *testing.T) {
	s := startSFU(t)
	v := newHostileViewer(t, s, "room-rtcp-senders")
	var flood [][]byte
	for i := range 100000 {
		b, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 0x40000000 + uint32(i)}})
		out, err := v.srtp.EncryptRTCP(nil, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		flood = append(flood, out)
	}
	v.srtp = nil // the client's own replay state is not the server's
	before := heapInUse()
	for i := range flood {
		v.sock.WriteTo(flood[i], v.server)
		flood[i] = nil
		if i%100 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	time.Sleep(time.Second)
	if grew := int64(heapInUse()) - int64(before); grew > 8<<20 {
		t.Fatalf("100,000 empty reports from as many senders grew the heap by %d MB", grew>>20)
	}
}
