package sfu

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/trtcd/trtcd/internal/peer"
	"github.com/trtcd/trtcd/internal/testpeer"
)

// newSSRCs gives the packets of one kind SSRCs of its own choosing:
// next(n) for the n-th packet.
type newSSRCs struct {
	interceptor.NoOp
	mime string
	n    atomic.Uint32
	next func(n uint32) uint32
}

func (r *newSSRCs) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if info.MimeType != r.mime {
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, p []byte, a interceptor.Attributes) (int, error) {
		h.SSRC = r.next(r.n.Add(1))
		return w.Write(h, p, a)
	})
}

func (r *newSSRCs) NewInterceptor(string) (interceptor.Interceptor, error) { return r, nil }

// ssrcPublisher is a pion publisher (audio, and video when asked) whose
// packets of mime go out under r's SSRCs, connected to s over network
// with the offer edit makes.
func ssrcPublisher(t *testing.T, s *SFU, r *newSSRCs, network webrtc.NetworkType, withVideo bool, edit func(string) string) (*Session, *webrtc.TrackLocalStaticSample, *webrtc.TrackLocalStaticSample) {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	ir.Add(r)
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{network})
	se.SetICEMulticastDNSMode(0)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	audio, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "a", "s")
	video, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "v", "s")
	pc.AddTransceiverFromTrack(audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if withVideo {
		pc.AddTransceiverFromTrack(video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	}
	if err := peer.Offer(context.Background(), pc); err != nil {
		t.Fatal(err)
	}
	sess, answer, err := s.Publish(context.Background(), PublishRequest{Room: "r", UserID: "u", Offer: edit(pc.LocalDescription().SDP),
		MinBitrate: 100, MaxBitrate: 800, AllowAudio: true, AllowVideo: true})
	if err != nil {
		t.Fatalf("the offer was refused: %v", err)
	}
	t.Cleanup(sess.Close)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	testpeer.WaitFor(t, "the publisher to connect", 5*time.Second, func() bool { return pc.ConnectionState() == webrtc.PeerConnectionStateConnected })
	return sess, audio, video
}

func withoutSSRCLines(offer string) string {
	var out []string
	for _, l := range strings.Split(offer, "\r\n") {
		if !strings.HasPrefix(l, "a=ssrc") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\r\n")
}

// A publisher whose one section declares no SSRC, sending each packet under
// a new one, made pion announce a new track for each: thousands of tracks,
// goroutines and stream events a second. Past its sections and a few
// restarts, its session is closed.
func TestAPublisherSendingEverNewStreamsIsClosed(t *testing.T) {
	s := startSFU(t)
	var events atomic.Int64
	s.onTrack = func(string, string, Source, bool) { events.Add(1) }
	r := &newSSRCs{mime: webrtc.MimeTypeOpus, next: func(n uint32) uint32 { return 0x10000 + n }}
	goroutines := runtime.NumGoroutine()
	sess, audio, _ := ssrcPublisher(t, s, r, webrtc.NetworkTypeUDP4, false, withoutSSRCLines)
	frame := make([]byte, 80)
	frame[0] = 0x78
	for i := 0; i < 1000 && !sess.isClosed(); i++ {
		audio.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond})
		time.Sleep(time.Millisecond)
	}
	testpeer.WaitFor(t, "the session to close", 5*time.Second, sess.isClosed)
	if n := events.Load(); n > 2*int64(1+maxRestartedStreams) {
		t.Fatalf("%d stream events for one audio section", n)
	}
	time.Sleep(500 * time.Millisecond)
	if g := runtime.NumGoroutine(); g > goroutines+100 {
		t.Fatalf("goroutines %d → %d", goroutines, g)
	}
}

// Packets under hundreds of undeclared SSRCs on a publisher's sections
// are not all handed to pion, which holds up to 1 MB for each while it
// probes: past a few, they are dropped, whichever path the session is on.
func TestUndeclaredSSRCsDoNotGrowMemory(t *testing.T) {
	for _, c := range []struct {
		name    string
		slow    bool
		network webrtc.NetworkType
	}{
		{"fast path", false, webrtc.NetworkTypeUDP4},
		{"no fast path", true, webrtc.NetworkTypeUDP4},
		{"ICE-TCP", false, webrtc.NetworkTypeTCP4},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startSFUWith(t, c.slow, *mediaWorkers)
			r := &newSSRCs{mime: webrtc.MimeTypeH264, next: func(n uint32) uint32 { return 0x20000 + n%400 }}
			_, _, video := ssrcPublisher(t, s, r, c.network, true, func(o string) string { return o })
			before := heapInUse()
			nal := make([]byte, 1100) // one packet each
			nal[0] = 0x41
			for i := range 40000 { // 40 MB: 100 KB under each SSRC
				video.WriteSample(media.Sample{Data: nal, Duration: time.Millisecond})
				if i%200 == 0 {
					time.Sleep(5 * time.Millisecond)
				}
			}
			time.Sleep(time.Second)
			if grown := int64(heapInUse()) - int64(before); grown > 15<<20 {
				t.Fatalf("40 MB on 400 undeclared SSRCs grew the heap by %d MB", grown>>20)
			}
		})
	}
}

func zeroAudioPort(offer string) string {
	lines := strings.Split(offer, "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "m=audio ") {
			f := strings.Fields(l)
			f[1] = "0"
			lines[i] = strings.Join(f, " ")
		}
	}
	return strings.Join(lines, "\r\n")
}

// An audio section offered with port 0 is not seen by the privilege
// checks, so audio sent on it is not published: not by a member without
// the send-audio privilege, nor by a screen share (which would replace the
// member's microphone).
func TestAPortZeroAudioSectionPublishesNothing(t *testing.T) {
	for _, c := range []struct {
		name string
		fill byte
		req  PublishRequest
	}{
		{"no send-audio privilege", testpeer.FillMain, PublishRequest{AllowVideo: true}},
		{"a screen share", testpeer.FillScreen, PublishRequest{Video: []Source{SourceSub}, AllowVideo: true, AllowSub: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startSFU(t)
			pc := testpeer.NewPeer(t, testpeer.Options{})
			testpeer.SendFills(t, pc, true, c.fill)
			testpeer.Offer(t, pc)
			req := c.req
			req.Room, req.UserID, req.Offer, req.MinBitrate, req.MaxBitrate = "r", "u", zeroAudioPort(pc.LocalDescription().SDP), 100, 800
			sess, answer, err := s.Publish(context.Background(), req)
			if err != nil {
				return // refusing the offer is as good
			}
			t.Cleanup(sess.Close)
			if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
				t.Fatal(err)
			}
			video := SourceMain
			if c.fill == testpeer.FillScreen {
				video = SourceSub
			}
			track := func(src Source) *Track {
				s.mu.Lock()
				r := s.rooms["r"]
				s.mu.Unlock()
				if r == nil {
					return nil
				}
				return r.track("u", src)
			}
			testpeer.WaitFor(t, "the video", 5*time.Second, func() bool { return track(video) != nil })
			time.Sleep(300 * time.Millisecond) // audio flows all along
			if track(SourceAudio) != nil {
				t.Fatal("audio on a port-0 section was published")
			}
		})
	}
}
