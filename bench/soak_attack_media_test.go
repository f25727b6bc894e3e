package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// mutatedWHIP publishes mutated RTP for up to 20 s, recorded, with a WHEP
// viewer from the same address; then it leaves (with a DELETE every other
// time, else by closing) and publishes again.
func mutatedWHIP(ctx context.Context, a *attack, srv *soakServer, i int) {
	api, err := soakAPI(a.from)
	if err != nil {
		a.count("client: " + err.Error())
		return
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		a.count("client: " + err.Error())
		return
	}
	defer pc.Close()
	video, audio, err := sendTracks(pc)
	if err != nil {
		a.count("client: " + err.Error())
		return
	}
	connected, ended := connectedOrEnded(pc)
	sig, _ := benchAuth(mutantWHIPRoom, mutantWHIP)
	client := a.httpClient(10 * time.Second)
	defer client.CloseIdleConnections()
	a.tries.Add(1)
	answer, session, status, err := postOffer(ctx, client, fmt.Sprintf("%s/whip/%d/%s/%s?recordId=soak-mutant-whip",
		srv.url, benchApp, mutantWHIPRoom, mutantWHIP), sig, pc)
	if !a.answered(ctx, pc, answer, status, err) {
		return
	}
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		a.count("never connected")
		return
	case <-ctx.Done():
		return
	}
	life, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	go mutantWHEPViewer(life, a, srv, api, client)
	a.count(sendUntil(life, ctx, ended, video, audio, a))
	if i%2 == 0 && session != "" {
		deleteSession(client, srv.url, session)
	}
}

// sendUntil sends mutated media until life ends or the server ends the
// connection, and says which.
func sendUntil(life, ctx context.Context, ended chan struct{}, video, audio *webrtc.TrackLocalStaticRTP, a *attack) string {
	sctx, cancel := context.WithCancel(life)
	defer cancel()
	go func() {
		select {
		case <-ended:
			cancel()
		case <-sctx.Done():
		}
	}()
	sendMutatedRTP(sctx, video, audio, a)
	switch {
	case ctx.Err() != nil:
		return "still publishing at the end"
	case life.Err() == nil:
		return "connection ended by server"
	}
	return "published 20 s, published again"
}

// mutantWHEPViewer plays the mutated publisher over WHEP until ctx ends,
// so that the forwarding path carries its packets.
func mutantWHEPViewer(ctx context.Context, a *attack, srv *soakServer, api *webrtc.API, client *http.Client) {
	viewer := "mutant-whep-viewer"
	sig, _ := benchAuth(mutantWHIPRoom, viewer)
	for try := 0; try < 5 && ctx.Err() == nil; try++ {
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			return
		}
		for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
			pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		}
		pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
			}
		})
		answer, _, status, err := postOffer(ctx, client, fmt.Sprintf("%s/whep/%d/%s/%s?userId=%s",
			srv.url, benchApp, mutantWHIPRoom, mutantWHIP, viewer), sig, pc)
		if err == nil && status == http.StatusCreated &&
			pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}) == nil {
			<-ctx.Done()
			pc.Close()
			return
		}
		pc.Close()
		sleepCtx(ctx, 500*time.Millisecond)
	}
}

// sendMutatedRTP sends H.264 at 15 frames a second (an IDR every 30) and
// Opus every 20 ms, about a third of the payloads mutated, with sequence
// and timestamp jumps, until ctx ends or a write fails.
func sendMutatedRTP(ctx context.Context, video, audio *webrtc.TrackLocalStaticRTP, a *attack) {
	vt, at := time.NewTicker(66*time.Millisecond), time.NewTicker(20*time.Millisecond)
	defer vt.Stop()
	defer at.Stop()
	vs, as := &rtpState{seq: uint16(rand.Uint32()), step: 6000}, &rtpState{seq: uint16(rand.Uint32()), step: 960}
	for frame := 0; ; {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-vt.C:
			err = vs.send(video, h264Frame(frame%30 == 0), mutateH264, a)
			frame++
		case <-at.C:
			err = as.send(audio, [][]byte{append([]byte{0x78}, randomBytes(79)...)}, mutateOpus, a)
		}
		if err != nil {
			return
		}
	}
}

// rtpState numbers one stream's packets, with the occasional jump.
type rtpState struct {
	seq  uint16
	ts   uint32
	step uint32 // timestamp units per frame
}

// send writes one frame's payloads, each through mutate (nil drops it).
func (s *rtpState) send(tr *webrtc.TrackLocalStaticRTP, payloads [][]byte, mutate func([]byte) []byte, a *attack) error {
	s.ts += s.step
	switch rand.IntN(100) {
	case 0:
		s.seq += uint16(rand.IntN(30000))
	case 1:
		s.seq -= uint16(rand.IntN(100))
	case 2:
		s.ts += rand.Uint32()
	}
	for i, p := range payloads {
		p = mutate(p)
		if p == nil {
			continue
		}
		s.seq++
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: (i == len(payloads)-1) != (rand.IntN(20) == 0),
			SequenceNumber: s.seq, Timestamp: s.ts}, Payload: p}
		if err := tr.WriteRTP(pkt); err != nil {
			return err
		}
		a.sent.Add(1)
		if rand.IntN(100) == 0 { // a duplicate
			tr.WriteRTP(pkt)
		}
	}
	return nil
}

// h264Frame is one picture as RTP payloads (RFC 6184): an IDR of 4 KB
// after a STAP-A of SPS and PPS, or a 800-byte slice, in FU-A fragments.
func h264Frame(idr bool) [][]byte {
	header, size := byte(0x41), 800
	if idr {
		header, size = 0x65, 4000
	}
	nal := append([]byte{header}, randomBytes(size)...)
	var out [][]byte
	if idr {
		stap := []byte{0x78}
		for _, n := range [][]byte{rtmpSPS, rtmpPPS} {
			stap = append(binary.BigEndian.AppendUint16(stap, uint16(len(n))), n...)
		}
		out = append(out, stap)
	}
	for off := 1; off < len(nal); off += 1100 {
		end := min(off+1100, len(nal))
		fu := []byte{nal[0]&0xe0 | 28, nal[0] & 0x1f}
		if off == 1 {
			fu[1] |= 0x80
		}
		if end == len(nal) {
			fu[1] |= 0x40
		}
		out = append(out, append(fu, nal[off:end]...))
	}
	return out
}

// badH264 are payloads no encoder makes: STAP-As with lengths of 0 or
// past the end, FU-As without a body, start or end, the unsupported and
// reserved NAL types, SPS and PPS of nothing or of exp-Golomb codes that
// never end, SEI of junk.
var badH264 = [][]byte{
	{0x78, 0x00, 0x00}, {0x78, 0xff, 0xff, 0x67}, {0x78, 0x00, 0x05, 0x67, 0x42}, {0x78},
	{0x7c}, {0x7c, 0x85}, {0x7c, 0x45, 1, 2}, {0x7c, 0x80}, {0x7c, 0xc5, 9},
	{0x79, 1, 2, 3}, {0x7a, 0, 0, 0}, {0x7b}, {0x7d, 0x85, 0, 0, 1}, {0x7e}, {0x7f}, {0x00}, {0x60},
	{0x67, 0, 0, 0, 0, 0, 0, 0}, {0x67, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x67}, {0x67, 0x42, 0, 0, 0, 0, 1},
	{0x68, 0, 0, 0, 0}, {0x68}, {0x06, 0xff, 0xff, 0xff, 0xff}, {},
}

// mutateH264 keeps p seven times in ten; otherwise flips bits, cuts it,
// replaces it with one of badH264, or drops it.
func mutateH264(p []byte) []byte {
	switch rand.IntN(20) {
	case 0, 1:
		return flipBits(p)
	case 2, 3:
		return p[:rand.IntN(len(p)+1)]
	case 4, 5:
		return badH264[rand.IntN(len(badH264))]
	case 6:
		return nil
	}
	return p
}

// mutateOpus keeps p six times in ten; otherwise sends nothing, a TOC
// alone, code-3 packets with 0 or 63 frames or huge padding, a code-2
// frame longer than the packet, or junk.
func mutateOpus(p []byte) []byte {
	switch rand.IntN(10) {
	case 6:
		return []byte{}
	case 7:
		return []byte{byte(rand.Uint32())}
	case 8:
		return [][]byte{{0x7b, 0x00}, {0x7b, 0x3f}, {0x7b, 0xff, 0xff, 0xff, 0xff}, {0x79, 0xff}, {0x7a, 0xff, 0xff}}[rand.IntN(5)]
	case 9:
		return randomBytes(1 + rand.IntN(200))
	}
	return p
}

// mediaAttacks hit the media port: WebRTC sessions abandoned before or
// during ICE and DTLS, and garbage datagrams.
func mediaAttacks(srv *soakServer, d time.Duration) []*attack {
	box := &ufragBox{}
	return []*attack{
		newAttack("WHIP", "sessions abandoned before ICE, during ICE checks, or mid-DTLS", fromUDP, func(ctx context.Context, a *attack) {
			runBounded(ctx, upTo(d, 2), 4, 500*time.Millisecond, func(ctx context.Context, i int) { abandonedWHIP(ctx, a, srv, box, i) })
		}),
		newAttack("UDP media", "garbage, 1,000 datagrams a second, a new port every 500: random, STUN (unknown or real "+
			"ufrag, bad integrity), DTLS and RTP look-alikes", fromUDP, func(ctx context.Context, a *attack) { udpGarbage(ctx, a, srv, box, upTo(d, 1000)) }),
	}
}

// abandonedWHIP offers with a valid userSig and then goes away at one of
// three points of the connection's setup.
func abandonedWHIP(ctx context.Context, a *attack, srv *soakServer, box *ufragBox, i int) {
	api, err := soakAPI(a.from)
	if err != nil {
		a.count("client: " + err.Error())
		return
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		a.count("client: " + err.Error())
		return
	}
	defer pc.Close()
	if _, _, err := sendTracks(pc); err != nil {
		a.count("client: " + err.Error())
		return
	}
	iceUp := make(chan struct{})
	var once sync.Once
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateConnected {
			once.Do(func() { close(iceUp) })
		}
	})
	room, user := fmt.Sprint(soakAttackRooms+600+i%20), fmt.Sprint("abandon-", i)
	sig, _ := benchAuth(room, user)
	client := a.httpClient(10 * time.Second)
	defer client.CloseIdleConnections()
	a.tries.Add(1)
	answer, _, status, err := postOffer(ctx, client, fmt.Sprintf("%s/whip/%d/%s/%s", srv.url, benchApp, room, user), sig, pc)
	if status == http.StatusCreated {
		box.add(answer)
	}
	if i%3 == 0 {
		if err == nil && status == http.StatusCreated {
			a.count("abandoned before ICE")
		} else if ctx.Err() == nil {
			a.count(fmt.Sprintf("offer refused: HTTP %d %v", status, err))
		}
		return
	}
	if !a.answered(ctx, pc, answer, status, err) {
		return
	}
	if i%3 == 1 {
		sleepCtx(ctx, time.Duration(rand.IntN(200))*time.Millisecond)
		a.count("abandoned during ICE checks")
		return
	}
	select {
	case <-iceUp:
		sleepCtx(ctx, time.Duration(rand.IntN(30))*time.Millisecond)
		a.count("abandoned after ICE, mid-DTLS")
	case <-time.After(3 * time.Second):
		a.count("ICE never connected")
	case <-ctx.Done():
	}
}
