package sfu

import (
	"context"
	"encoding/binary"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/internal/peer"
	"github.com/trtcd/trtcd/internal/srtpkeys"
	"github.com/trtcd/trtcd/internal/testpeer"
)

// FuzzAuthenticatedMedia sends what an authenticated, connected client may
// send, encrypted with its session's own keys, through everything on the
// server that reads it: the fast path's routes and RTCP guard, pion's
// SRTP, RTCP and interceptors, the tracks' forwarding, keyframe and layer
// parsing, and feedback towards the publisher. mallory publishes (a real
// H.264 and Opus source keeps her tracks alive) and eve watches her, each
// on a socket the test owns; bob watches her through a plain pion client.
//
// Input: records of [kind][length, uint16][bytes]; kind%6 picks mallory's
// RTP, her RTP as one of her video or audio track's packets, her RTCP,
// eve's RTCP, or eve's RTCP about the video she receives (the media SSRC
// of feedback). Nothing may panic, not even a recovered panic.
//
//	go test -run '^$' -fuzz '^FuzzAuthenticatedMedia$' -fuzztime 10m ./sfu
func FuzzAuthenticatedMedia(f *testing.F) {
	for _, seed := range mediaSeeds() {
		f.Add(seed)
	}
	m := newMediaFuzz(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		before := recoveredPanics()
		m.send(t, data)
		time.Sleep(2 * time.Millisecond) // the server reads them
		if n := recoveredPanics() - before; n > 0 {
			t.Fatalf("%v panics recovered", n)
		}
	})
}

func recoveredPanics() float64 { return panics.Count(panics.Media) + panics.Count(panics.Relay) }

// Record kinds of FuzzAuthenticatedMedia.
const (
	fuzzPublisherRTP = iota
	fuzzPublisherVideo
	fuzzPublisherAudio
	fuzzPublisherRTCP
	fuzzViewerRTCP
	fuzzViewerFeedback
	fuzzKinds
)

// mediaFuzz is FuzzAuthenticatedMedia's server and clients.
type mediaFuzz struct {
	mu           sync.Mutex // the contexts are not safe for concurrent use
	mallory, eve *ownSocketPeer
	audio, video fuzzStream // mallory's
	eveVideoSSRC uint32
}

// fuzzStream is one of mallory's tracks as the test sends it.
type fuzzStream struct {
	ssrc uint32
	pt   byte
	seq  uint16 // the next packet's
}

// stamp makes an RTP packet one of the stream's: its SSRC and payload
// type, and a number near the stream's next one (the input's third byte
// says how near, so that losses, repeats and reordering happen too).
func (st *fuzzStream) stamp(b []byte) {
	b[1] = b[1]&0x80 | st.pt
	binary.BigEndian.PutUint16(b[2:], st.seq+uint16(int8(b[2])>>3))
	binary.BigEndian.PutUint32(b[8:], st.ssrc)
	st.seq++
}

// ownSocketPeer is a pion client on a socket the test owns: what the test
// writes there reaches the server as the session's own.
type ownSocketPeer struct {
	pc     *webrtc.PeerConnection
	sock   net.PacketConn
	server net.Addr
	ctx    *srtp.Context // the session's keys, client to server
}

func newMediaFuzz(f *testing.F) *mediaFuzz {
	s := startSFUWith(f, false, *mediaWorkers)
	const room = "room-fuzz"
	m := &mediaFuzz{}
	// mallory's tracks are sent from the test's socket, not by pion: the
	// stream's numbering is the test's own, so that what it sends is
	// neither a replay nor too far ahead for the server to open.
	m.mallory = newOwnSocketPeer(f, s, func(pc *webrtc.PeerConnection) func(string) (string, error) {
		for _, c := range []webrtc.RTPCodecCapability{
			{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
			{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
		} {
			track, err := webrtc.NewTrackLocalStaticRTP(c, c.MimeType, "mallory")
			if err != nil {
				f.Fatal(err)
			}
			if _, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
				f.Fatal(err)
			}
		}
		return func(offer string) (string, error) {
			sess, answer, err := s.Publish(context.Background(), PublishRequest{Room: room, UserID: "mallory", Offer: offer,
				MinBitrate: 100, MaxBitrate: 800, AllowAudio: true, AllowVideo: true})
			if err == nil {
				f.Cleanup(sess.Close)
			}
			return answer, err
		}
	})
	for _, sender := range m.mallory.pc.GetSenders() {
		params := sender.GetParameters()
		stream := &m.audio
		if sender.Track().Kind() == webrtc.RTPCodecTypeVideo {
			stream = &m.video
		}
		*stream = fuzzStream{ssrc: uint32(params.Encodings[0].SSRC), pt: byte(params.Codecs[0].PayloadType), seq: 1000}
	}
	testpeer.WaitFor(f, "mallory's tracks", 10*time.Second, func() bool {
		m.send(f, mediaSeeds()[0]) // a keyframe and an audio packet
		time.Sleep(20 * time.Millisecond)
		r := s.rooms[room]
		return r != nil && r.track("mallory", SourceMain) != nil && r.track("mallory", SourceAudio) != nil
	})
	subscribe(f, s, room, "bob", "mallory")
	var eveVideo sync.Once
	eveSSRC := make(chan uint32, 1)
	m.eve = newOwnSocketPeer(f, s, func(pc *webrtc.PeerConnection) func(string) (string, error) {
		if err := testpeer.ReceiveAudioVideo(pc); err != nil {
			f.Fatal(err)
		}
		pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			if tr.Kind() == webrtc.RTPCodecTypeVideo {
				eveVideo.Do(func() { eveSSRC <- uint32(tr.SSRC()) })
			}
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
			}
		})
		return func(offer string) (string, error) {
			sess, answer, err := s.Subscribe(context.Background(), SubscribeRequest{Room: room, UserID: "eve", Publisher: "mallory",
				Offer: offer, AllowAudio: true, AllowVideo: true})
			if err == nil {
				f.Cleanup(sess.Close)
			}
			return answer, err
		}
	})
	testpeer.WaitFor(f, "video at eve", 10*time.Second, func() bool {
		select {
		case m.eveVideoSSRC = <-eveSSRC:
			return true
		default:
			m.send(f, mediaSeeds()[0]) // the keyframe a new viewer waits for
			time.Sleep(20 * time.Millisecond)
			return false
		}
	})
	return m
}

// newOwnSocketPeer connects a pion client that setUp prepares (its
// tracks), to the server setUp returns, on a socket of the test's, and
// returns it with its keys.
func newOwnSocketPeer(f testing.TB, s *SFU, setUp func(*webrtc.PeerConnection) func(offer string) (string, error)) *ownSocketPeer {
	sock, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	api, mux, err := peer.APIOnSocket(peer.Options{Silent: true}, sock)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { mux.Close() })
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { pc.Close() })
	negotiateClient(f, pc, setUp(pc))
	testpeer.WaitFor(f, "the client to connect", 10*time.Second, func() bool { return pc.ConnectionState() == webrtc.PeerConnectionStateConnected })
	keys, err := srtpkeys.FromPeerConnection(pc, strings.Contains(pc.RemoteDescription().SDP, "a=setup:passive"))
	if err != nil {
		f.Fatal(err)
	}
	ctx, err := keys.LocalContext()
	if err != nil {
		f.Fatal(err)
	}
	server, err := net.ResolveUDPAddr("udp4", s.UDPAddr())
	if err != nil {
		f.Fatal(err)
	}
	return &ownSocketPeer{pc: pc, sock: sock, server: server, ctx: ctx}
}

// send encrypts and sends each record of data.
func (m *mediaFuzz) send(t testing.TB, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(data) >= 3 {
		kind := data[0] % fuzzKinds
		n := int(binary.BigEndian.Uint16(data[1:3]))
		data = data[3:]
		n = min(n, len(data), MaxPacketSize-64)
		b := append([]byte(nil), data[:n]...)
		data = data[n:]
		switch kind {
		case fuzzPublisherRTP, fuzzPublisherVideo, fuzzPublisherAudio:
			if len(b) < 12 {
				continue
			}
			b[0] = 0x80 | b[0]&0x3f // version 2
			switch kind {
			case fuzzPublisherVideo:
				m.video.stamp(b)
			case fuzzPublisherAudio:
				m.audio.stamp(b)
			}
			if b[1]&0x7f >= 64 && b[1]&0x7f < 96 {
				b[1] &^= 0x40 // not an RTCP type: RTP is what this record sends
			}
			m.write(t, m.mallory, b, false)
		case fuzzPublisherRTCP:
			m.writeRTCP(t, m.mallory, b, 0)
		case fuzzViewerRTCP:
			m.writeRTCP(t, m.eve, b, 0)
		case fuzzViewerFeedback:
			m.writeRTCP(t, m.eve, b, m.eveVideoSSRC)
		}
	}
}

// writeRTCP sends b as RTCP (version 2, an RTCP packet type), naming
// media as the feedback's media SSRC when it is not 0.
func (m *mediaFuzz) writeRTCP(t testing.TB, p *ownSocketPeer, b []byte, media uint32) {
	if len(b) < 8 {
		return
	}
	b[0] = 0x80 | b[0]&0x3f
	b[1] = 192 + b[1]%32
	if media != 0 && len(b) >= 12 {
		binary.BigEndian.PutUint32(b[8:], media)
	}
	m.write(t, p, b, true)
}

func (m *mediaFuzz) write(t testing.TB, p *ownSocketPeer, b []byte, isRTCP bool) {
	var out []byte
	var err error
	if isRTCP {
		out, err = p.ctx.EncryptRTCP(nil, b, nil)
	} else {
		out, err = p.ctx.EncryptRTP(nil, b, nil)
	}
	if err != nil {
		return // pion's encoder refuses what its parser would: nothing to send
	}
	if _, err := p.sock.WriteTo(out, p.server); err != nil {
		t.Fatal(err)
	}
}

// mediaSeeds are inputs a client sends: video under the real track, a
// sender report, NACKs, a PLI, a REMB, transport-wide feedback and a BYE.
func mediaSeeds() [][]byte {
	record := func(kind byte, b []byte) []byte {
		return append([]byte{kind, byte(len(b) >> 8), byte(len(b))}, b...)
	}
	marshal := func(p ...rtcp.Packet) []byte {
		b, _ := rtcp.Marshal(p)
		return b
	}
	rtpPacket := func(seq uint16, payload ...byte) []byte {
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: seq, Timestamp: 90000}, Payload: payload}).Marshal()
		return b
	}
	var seeds [][]byte
	sps := rtpPacket(0, 0x67, 0x42, 0xc0, 0x1f, 0xda)
	pps := rtpPacket(0, 0x68, 0xce, 0x3c, 0x80)
	idr := rtpPacket(0, 0x65, 0x88, 0x84, 0x00, 0x33)
	opus := rtpPacket(0, 0x78, 0x01, 0x02)
	seeds = append(seeds, slices.Concat(record(fuzzPublisherVideo, sps), record(fuzzPublisherVideo, pps),
		record(fuzzPublisherVideo, idr), record(fuzzPublisherAudio, opus)))
	seeds = append(seeds, record(fuzzPublisherRTP, rtpPacket(1, 0xff)))
	seeds = append(seeds, record(fuzzPublisherVideo, rtpPacket(0x4000, 0x7c, 0x85, 0x88, 0x84))) // FU-A start of an IDR, 8 ahead
	seeds = append(seeds, record(fuzzPublisherRTCP, marshal(&rtcp.SenderReport{SSRC: 1, NTPTime: 1 << 40, RTPTime: 90000, PacketCount: 10})))
	seeds = append(seeds, record(fuzzViewerFeedback, marshal(&rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: 2,
		Nacks: []rtcp.NackPair{{PacketID: 100, LostPackets: 0xffff}, {PacketID: 65500, LostPackets: 0xffff}}})))
	seeds = append(seeds, record(fuzzViewerFeedback, marshal(&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 2})))
	seeds = append(seeds, record(fuzzViewerRTCP, marshal(&rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 1, Bitrate: 1, SSRCs: []uint32{2, 3}})))
	deltas := make([]*rtcp.RecvDelta, 20)
	for i := range deltas {
		deltas[i] = &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000}
	}
	seeds = append(seeds, record(fuzzViewerFeedback, marshal(&rtcp.TransportLayerCC{SenderSSRC: 1, MediaSSRC: 2, BaseSequenceNumber: 65530,
		PacketStatusCount: 20, PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 20}},
		RecvDeltas: deltas})))
	seeds = append(seeds, record(fuzzViewerRTCP, marshal(&rtcp.Goodbye{Sources: []uint32{1, 2, 3}}, &rtcp.ReceiverReport{SSRC: 9})))
	return seeds
}
