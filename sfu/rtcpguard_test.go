package sfu

import (
	"encoding/binary"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"
	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/trtcd/trtcd/internal/srtpkeys"
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
				out, err := v.ctx.EncryptRTCP(nil, b, nil)
				if err != nil {
					t.Fatal(err)
				}
				v.sock.WriteTo(out, v.server)
				if i%100 == 0 {
					time.Sleep(2 * time.Millisecond)
				}
			}
			time.Sleep(time.Second)
			if grew := int64(heapInUse()) - int64(before); grew > 10<<20 {
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
	if grew := int64(heapInUse()) - int64(before); grew > 10<<20 {
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
// 100,000 of them, 2.7 MB, grew the server by 21 MB. Past the bound they
// are dropped before they are opened (the guard's own context stays small)
// or reach pion. The guard is unmetered here: the bound is what is tested.
func TestRTCPFromEverNewSendersIsDropped(t *testing.T) {
	g, client := guardAndClient(t)
	g.rate = rate.NewLimiter(rate.Inf, 0)
	flood := make([][]byte, 100000)
	for i := range flood {
		b, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 0x40000000 + uint32(i)}})
		out, err := client.EncryptRTCP(nil, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		flood[i] = out
	}
	client = nil // the client's own replay state is not the guard's
	before := heapInUse()
	passed := 0
	for i := range flood {
		if !g.drop(flood[i]) {
			passed++
		}
	}
	if passed > maxRTCPSSRCs {
		t.Errorf("%d reports from as many senders reached pion, bound %d", passed, maxRTCPSSRCs)
	}
	if grew := int64(heapInUse()) - int64(before); grew > 2<<20 {
		t.Errorf("100,000 reports from as many senders grew the guard by %d KB", grew>>10)
	}
	runtime.KeepAlive(flood)
	runtime.KeepAlive(g)
}

// guardAndClient is an RTCP guard and the context of the client whose
// packets it opens.
func guardAndClient(t *testing.T) (*rtcpGuard, *srtp.Context) {
	t.Helper()
	key, salt := make([]byte, 16), make([]byte, 12)
	keys := &srtpkeys.Keys{Profile: srtp.ProtectionProfileAeadAes128Gcm, RemoteKey: key, RemoteSalt: salt}
	client, err := srtp.CreateContext(key, salt, keys.Profile)
	if err != nil {
		t.Fatal(err)
	}
	return newRTCPGuard(keys), client
}

// twccBomb is transport-wide feedback of 40 bytes that declares 65,535
// packet statuses in run-length chunks and carries none of their deltas.
func twccBomb() []byte {
	b := []byte{0x8f, 205, 0, 9, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0xff, 0xff, 0, 0, 0, 0}
	for range 9 {
		b = append(b, 0x3f, 0xff) // run length chunk: small delta, 8191 times
	}
	b = append(b, 0, 0) // padding to a word
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)/4-1))
	return b
}

// RTCP that costs more to parse than its size is dropped before it is
// parsed: transport-wide feedback (not negotiated here) whose status count
// made pion allocate 65,535 deltas (3.7 MB) for 40 bytes, compounds of
// more packets than a client sends, and packet types no RFC defines
// (which pion hands to every stream the compound names). Honest reports
// and feedback pass.
func TestRTCPDearToParseIsDropped(t *testing.T) {
	g, client := guardAndClient(t)
	seal := func(b []byte) []byte {
		out, err := client.EncryptRTCP(nil, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	honest, _ := rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 2}}},
		&rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 1, Bitrate: 1e6, SSRCs: []uint32{2}},
		&rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: 2, Nacks: []rtcp.NackPair{{PacketID: 7}}},
		&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 2},
	})
	if g.drop(seal(honest)) {
		t.Fatal("an honest report with REMB, NACK and PLI was dropped")
	}
	var many []rtcp.Packet
	for range maxCompoundRTCP + 1 {
		many = append(many, &rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 2})
	}
	tooMany, _ := rtcp.Marshal(many)
	unknown := append(append([]byte{}, honest...), 0x80, 210, 0, 1, 0, 0, 0, 1)
	for name, b := range map[string][]byte{"17 packets": tooMany, "an unknown type": unknown, "a TWCC bomb": twccBomb()} {
		if !g.drop(seal(b)) {
			t.Errorf("%s passed", name)
		}
	}
	bombs := [][]byte{seal(twccBomb()), seal(twccBomb())}
	if allocs := testing.AllocsPerRun(1, func() { g.drop(bombs[0]); bombs = bombs[1:] }); allocs > 100 {
		t.Errorf("a 40-byte TWCC packet cost %.0f allocations", allocs)
	}
}

// A session's RTCP is metered: a flood passes no further than the burst.
func TestRTCPFloodIsMetered(t *testing.T) {
	g, client := guardAndClient(t)
	report, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1}})
	passed := 0
	for range 5 * rtcpBurst {
		out, err := client.EncryptRTCP(nil, report, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !g.drop(out) {
			passed++
		}
	}
	if passed > rtcpBurst+rtcpPerSecond { // the burst, and what refills while the test runs (well under a second)
		t.Fatalf("%d of %d reports passed, burst %d", passed, 5*rtcpBurst, rtcpBurst)
	}
}

// The same flood from another address of the session, one that passed a
// connectivity check (pion takes media from any such address), meets the
// session's screen too.
func TestRTCPFromAnotherAddressOfTheSessionIsScreened(t *testing.T) {
	s := startSFU(t)
	v := newHostileViewer(t, s, "room-rtcp-other")
	other, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	answer := v.pc.RemoteDescription().SDP
	offer := v.pc.LocalDescription().SDP
	check, err := stun.Build(stun.TransactionID, stun.BindingRequest,
		stun.NewUsername(sdpAttribute(answer, "ice-ufrag")+":"+sdpAttribute(offer, "ice-ufrag")),
		stun.RawAttribute{Type: stun.AttrPriority, Value: []byte{0x6e, 0, 0x1e, 0xff}},
		stun.RawAttribute{Type: stun.AttrICEControlling, Value: []byte{0, 0, 0, 0, 0, 0, 0, 1}},
		stun.NewShortTermIntegrity(sdpAttribute(answer, "ice-pwd")), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	other.WriteTo(check.Raw, v.server)
	buf := make([]byte, 1500)
	other.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := other.ReadFrom(buf); err != nil || !stun.IsMessage(buf[:n]) {
		t.Fatalf("no answer to the connectivity check from a second address: %v", err)
	}
	before := heapInUse()
	for i, b := range byeFlood(2000) {
		out, err := v.ctx.EncryptRTCP(nil, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		other.WriteTo(out, v.server)
		if i%100 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	time.Sleep(time.Second)
	if grew := int64(heapInUse()) - int64(before); grew > 10<<20 {
		t.Fatalf("2,000 SRTCP BYEs from the session's second address grew the heap by %d MB", grew>>20)
	}
}
