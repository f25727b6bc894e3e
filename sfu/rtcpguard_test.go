package sfu

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/peer"
	"github.com/trtcd/trtcd/internal/srtpkeys"
	"github.com/trtcd/trtcd/internal/testpeer"
)

// A viewer's RTCP naming ever new SSRCs (a BYE names 31) is dropped past a
// few: pion kept a stream for each until the session closed, and 2,000
// such BYEs, 300 KB, grew the server by 160 MB.
func TestRTCPNamingEverNewStreamsIsDropped(t *testing.T) {
	s := startSFU(t)
	publish(t, s, "room-rtcp", "alice", testpeer.Options{})
	publishedVideo(t, s, "room-rtcp", "alice")
	sock, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api, mux, err := peer.APIOnSocket(peer.Options{}, sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mux.Close() })
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if err := testpeer.ReceiveAudioVideo(pc); err != nil {
		t.Fatal(err)
	}
	negotiateClient(t, pc, func(offer string) (string, error) {
		sess, answer, err := s.Subscribe(context.Background(), SubscribeRequest{Room: "room-rtcp", UserID: "mallory", Publisher: "alice",
			Offer: offer, AllowAudio: true, AllowVideo: true})
		if err == nil {
			t.Cleanup(sess.Close)
		}
		return answer, err
	})
	testpeer.WaitFor(t, "connect", 10*time.Second, func() bool { return pc.ConnectionState() == webrtc.PeerConnectionStateConnected })
	keys, err := srtpkeys.FromPeerConnection(pc, strings.Contains(pc.RemoteDescription().SDP, "a=setup:passive"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := keys.LocalContext()
	if err != nil {
		t.Fatal(err)
	}
	server, _ := net.ResolveUDPAddr("udp4", s.UDPAddr())
	me := sock.LocalAddr().(*net.UDPAddr).AddrPort()
	testpeer.WaitFor(t, "the viewer's route", 10*time.Second, func() bool {
		_, ok := (*s.t.udp.routes.Load())[me]
		return ok
	})
	before := heapInUse()
	n := uint32(0x30000000)
	for i := range 2000 {
		var srcs []uint32
		for range 31 {
			n++
			srcs = append(srcs, n)
		}
		b, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.Goodbye{Sources: srcs}})
		out, err := ctx.EncryptRTCP(nil, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		sock.WriteTo(out, server)
		if i%100 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	time.Sleep(time.Second)
	if grew := int64(heapInUse()) - int64(before); grew > 30<<20 {
		t.Fatalf("2,000 SRTCP BYEs naming 62,000 SSRCs grew the heap by %d MB", grew>>20)
	}
}
