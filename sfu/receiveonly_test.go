package sfu

import (
	"context"
	"encoding/binary"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/testpeer"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// A viewer that sends SRTP of its own (it has the keys) under ever new
// SSRCs costs the server nothing: pion kept a stream for each, about 8 KB
// for a few packets and up to 1 MB for many, until the session ended.
//
// newHostileViewer is mallory watching alice in a new room on s, on a
// socket the test owns (ownSocketPeer).
func newHostileViewer(t *testing.T, s *SFU, room string) *ownSocketPeer {
	t.Helper()
	publish(t, s, room, "alice", testpeer.Options{})
	publishedVideo(t, s, room, "alice")
	v := newOwnSocketPeer(t, s, func(pc *webrtc.PeerConnection) func(string) (string, error) {
		if err := testpeer.ReceiveAudioVideo(pc); err != nil {
			t.Fatal(err)
		}
		return func(offer string) (string, error) {
			sess, answer, err := s.Subscribe(context.Background(), SubscribeRequest{Room: room, UserID: "mallory", Publisher: "alice",
				Offer: offer, AllowAudio: true, AllowVideo: true})
			if err == nil {
				t.Cleanup(sess.Close)
			}
			return answer, err
		}
	})
	me := v.sock.LocalAddr().(*net.UDPAddr).AddrPort()
	testpeer.WaitFor(t, "the viewer's route", 10*time.Second, func() bool { // set once the server sees it connected
		return s.t.udp.lookup(me) != nil
	})
	return v
}

func TestAViewersOwnMediaIsDropped(t *testing.T) {
	for _, slow := range []bool{false, true} {
		t.Run(map[bool]string{false: "fast path", true: "no fast path"}[slow], func(t *testing.T) {
			s := startSFUWith(t, slow, *mediaWorkers)
			v := newHostileViewer(t, s, "room-ssrc")
			before := heapInUse()
			payload := make([]byte, 1000)
			for i := range 5000 {
				for j := range 3 {
					pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: uint16(j), SSRC: 0x10000000 + uint32(i)}, Payload: payload}
					b, _ := pkt.Marshal()
					out, err := v.ctx.EncryptRTP(nil, b, nil)
					if err != nil {
						t.Fatal(err)
					}
					v.sock.WriteTo(out, v.server)
				}
				if i%200 == 0 {
					time.Sleep(2 * time.Millisecond) // within the socket buffers
				}
			}
			time.Sleep(time.Second)
			if grew := int64(heapInUse()) - int64(before); grew > 12<<20 {
				t.Fatalf("a viewer's 15,000 packets under 5,000 SSRCs grew the heap by %d MB", grew>>20)
			}
		})
	}
}

// DTLS handshake records a connected session sends are dropped past a few
// (a client whose last flight went unanswered repeats it): pion kept every
// one, and 20 MB of them grew the server by 29 MB.
func TestLateDTLSHandshakeRecordsAreDropped(t *testing.T) {
	s := startSFU(t)
	v := newHostileViewer(t, s, "room-dtls")
	before := heapInUse()
	body := make([]byte, 1000)
	for i := range 10000 {
		// A record of epoch 0 with a handshake message whose sequence
		// number climbs past the handshake's, so that pion assembles it.
		rec := []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 1, byte(i >> 8), byte(i), 0, 0}
		msg := []byte{1, 0, byte(len(body) >> 8), byte(len(body)), byte(i >> 8), byte(i), 0, 0, 0, 0, byte(len(body) >> 8), byte(len(body))}
		msg = append(msg, body...)
		binary.BigEndian.PutUint16(rec[11:], uint16(len(msg)))
		v.sock.WriteTo(append(rec, msg...), v.server)
		if i%100 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	time.Sleep(time.Second)
	if grew := int64(heapInUse()) - int64(before); grew > 5<<20 {
		t.Fatalf("10,000 DTLS handshake records of 1 KB grew the heap by %d MB", grew>>20)
	}
}

// Of what a connected session sends over DTLS, alerts (a close_notify)
// reach pion, handshake records a few times (a repeated last flight), and
// application data, a refused data channel's, never.
func TestAConnectedSessionsDTLSRecords(t *testing.T) {
	var l lateDTLS
	for i := range maxLateHandshakes {
		if l.dropDTLS([]byte{dtlsHandshake}) {
			t.Fatalf("handshake record %d dropped", i+1)
		}
	}
	if !l.dropDTLS([]byte{dtlsHandshake}) {
		t.Errorf("handshake record %d passed", maxLateHandshakes+1)
	}
	if l.dropDTLS([]byte{21}) {
		t.Error("an alert was dropped")
	}
	if !l.dropDTLS([]byte{dtlsApplicationData}) {
		t.Error("application data passed")
	}
}
