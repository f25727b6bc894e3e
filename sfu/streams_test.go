package sfu

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/testpeer"
)

// What the video frames of each of a test publisher's streams are filled
// with (peer.Source.Fill), so a viewer can tell which stream it receives.
var streamFill = map[Source]byte{SourceMain: testpeer.FillMain, SourceSmall: testpeer.FillSmall, SourceSub: testpeer.FillScreen}

// publishStreams publishes audio and the given video sources from one pion
// client, in that m-section order.
func publishStreams(t *testing.T, s *SFU, room, user string, video ...Source) *Session {
	t.Helper()
	pc := testpeer.NewPeer(t, testpeer.Options{})
	var fills []byte
	for _, src := range video {
		fills = append(fills, streamFill[src])
	}
	testpeer.SendFills(t, pc, video[0] != SourceSub, fills...)
	var sess *Session
	negotiateClient(t, pc, func(offer string) (string, error) {
		s, answer, err := s.Publish(context.Background(), PublishRequest{Room: room, UserID: user, Offer: offer, Video: video,
			MinBitrate: 100, MaxBitrate: 800, AllowAudio: true, AllowVideo: true, AllowSub: true})
		sess = s
		return answer, err
	})
	t.Cleanup(sess.Close)
	return sess
}

// streamViewer records, per video section (by the tag in byte 2 of its
// SSRC), which stream each packet came from and where keyframes start.
type streamViewer struct {
	session *Session
	mu      sync.Mutex
	rx      map[uint32]*streamLog
}

type streamLog struct {
	seqs received
	// layers is the stream of each packet that carries frame bytes, in
	// arrival order; keyStart marks the packets that start a keyframe.
	layers []Source
	keyAt  []bool
	ts     []uint32 // each of those packets' RTP timestamp
	ssrc   uint32
}

// subscribeStreams subscribes with a section per video source wanted; req
// gives the choices and privileges.
func subscribeStreams(t *testing.T, s *SFU, req SubscribeRequest, videoSections int) (*streamViewer, error) {
	t.Helper()
	return subscribeWith(t, s, req, false, videoSections)
}

// subscribeWith is subscribeStreams with an audio section after the video
// ones, or not.
func subscribeWith(t *testing.T, s *SFU, req SubscribeRequest, audio bool, videoSections int) (*streamViewer, error) {
	t.Helper()
	pc := testpeer.NewPeer(t, testpeer.Options{})
	v := &streamViewer{rx: map[uint32]*streamLog{}}
	testpeer.ReceiveVideo(t, pc, videoSections, audio)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			return
		}
		log := &streamLog{ssrc: uint32(tr.SSRC()), seqs: received{seqs: map[uint64]bool{}}}
		v.mu.Lock()
		v.rx[uint32(tr.SSRC())>>16&0xff] = log
		v.mu.Unlock()
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			v.mu.Lock()
			log.seqs.add(p.SequenceNumber)
			if src, key, ok := classify(p.Payload); ok {
				log.layers, log.keyAt = append(log.layers, src), append(log.keyAt, key)
				log.ts = append(log.ts, p.Timestamp)
			}
			v.mu.Unlock()
		}
	})
	testpeer.Offer(t, pc)
	req.Offer = pc.LocalDescription().SDP
	sess, answer, err := s.Subscribe(context.Background(), req)
	if err != nil {
		return nil, err
	}
	t.Cleanup(sess.Close)
	v.session = sess
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	return v, nil
}

// classify names the stream an H.264 packet came from by its last byte,
// and reports whether it starts a keyframe: SPS and PPS come first, alone
// or aggregated (STAP-A), and carry no fill, so they count as the start of
// the IDR picture that follows them.
func classify(payload []byte) (src Source, keyStart, ok bool) {
	if len(payload) < 2 {
		return 0, false, false
	}
	switch payload[0] & 0x1f {
	case 7, 24: // SPS, STAP-A
		return 0, true, true
	}
	for s, fill := range streamFill {
		if payload[len(payload)-1] == fill {
			return s, false, true
		}
	}
	return 0, false, false
}

// section returns a copy of what the video section tagged tag got.
func (v *streamViewer) section(tag uint32) streamLog {
	v.mu.Lock()
	defer v.mu.Unlock()
	l := v.rx[tag]
	if l == nil {
		return streamLog{}
	}
	c := *l
	c.layers, c.keyAt, c.ts = append([]Source(nil), l.layers...), append([]bool(nil), l.keyAt...), append([]uint32(nil), l.ts...)
	c.seqs.seqs = nil
	return c
}

// latest is the stream of the last frame packet a section got (0: none).
func (l streamLog) latest() Source {
	for i := len(l.layers) - 1; i >= 0; i-- {
		if l.layers[i] != 0 {
			return l.layers[i]
		}
	}
	return 0
}

// checkSwitches fails the test unless every change of stream happened at a
// keyframe of the new one, and returns the streams in the order seen.
func (l streamLog) checkSwitches(t *testing.T) []Source {
	t.Helper()
	var seen []Source
	var cur Source
	keyPending := false
	for i, src := range l.layers {
		if l.keyAt[i] {
			keyPending = true
			continue
		}
		if src != cur {
			if cur != 0 && !keyPending {
				t.Fatalf("the viewer went from %s to %s at packet %d without a keyframe", cur, src, i)
			}
			seen, cur = append(seen, src), src
		}
		keyPending = false
	}
	return seen
}

func waitTracks(t *testing.T, s *SFU, room, user string, sources ...Source) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s's %v", user, sources), 5*time.Second, func() bool {
		s.mu.Lock()
		r := s.rooms[room]
		s.mu.Unlock()
		for _, src := range sources {
			if r == nil || r.track(user, src) == nil {
				return false
			}
		}
		return true
	})
}

// A member publishes its camera big and small and a screen in one
// PeerConnection; viewers pick the big stream, the small one or the
// screen, and a viewer with two video sections gets camera and screen at
// once, each section with the SSRC tag the TRTC Web SDK reads.
func TestAPublisherWithThreeVideoStreams(t *testing.T) {
	s := startSFU(t)
	publishStreams(t, s, "room-3", "teacher", SourceMain, SourceSmall, SourceSub)
	waitTracks(t, s, "room-3", "teacher", SourceAudio, SourceMain, SourceSmall, SourceSub)

	want := func(video Source, sub bool, sections int) *streamViewer {
		v, err := subscribeStreams(t, s, SubscribeRequest{Room: "room-3", UserID: fmt.Sprintf("viewer-%s-%v", video, sub), Publisher: "teacher",
			Video: video, Sub: sub, AllowAudio: true, AllowVideo: true, AllowSub: true}, sections)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	big, small, screen, both := want(SourceMain, false, 1), want(SourceSmall, false, 1), want(SourceSub, false, 1), want(SourceMain, true, 2)
	cases := []struct {
		name string
		v    *streamViewer
		tag  uint32
		want Source
	}{
		// The tags are the TRTC Web SDK's stream types: 2 main, 7 aux.
		{"big", big, 2, SourceMain},
		{"small", small, 2, SourceSmall},
		{"screen alone", screen, 7, SourceSub},
		{"camera beside the screen", both, 2, SourceMain},
		{"screen beside the camera", both, 7, SourceSub},
	}
	for _, c := range cases {
		waitFor(t, c.name+" video", 5*time.Second, func() bool { return len(c.v.section(c.tag).layers) > 30 })
		l := c.v.section(c.tag)
		if seen := l.checkSwitches(t); len(seen) != 1 || seen[0] != c.want {
			t.Errorf("%s: the section tagged %d got streams %v, want only %s", c.name, c.tag, seen, c.want)
		}
	}
}

// A viewer of the big stream switches to the small one and back: each
// change happens at a keyframe of the new stream, and the viewer's
// sequence numbers run on without a gap.
func TestSwitchingBetweenBigAndSmallStreams(t *testing.T) {
	s := startSFU(t)
	publishStreams(t, s, "room-s", "alice", SourceMain, SourceSmall)
	waitTracks(t, s, "room-s", "alice", SourceMain, SourceSmall)
	v, err := subscribeStreams(t, s, SubscribeRequest{Room: "room-s", UserID: "bob", Publisher: "alice",
		AllowAudio: true, AllowVideo: true}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []Source{SourceSmall, SourceMain, SourceSmall} {
		waitFor(t, "video", 5*time.Second, func() bool { return len(v.section(ssrcTagMain).layers) > 20 })
		if err := v.session.SetVideo(to); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the switch to "+to.String(), 5*time.Second, func() bool { return v.section(ssrcTagMain).latest() == to })
		time.Sleep(300 * time.Millisecond)
	}
	l := v.section(ssrcTagMain)
	if seen := l.checkSwitches(t); fmt.Sprint(seen) != fmt.Sprint([]Source{SourceMain, SourceSmall, SourceMain, SourceSmall}) {
		t.Fatalf("streams seen %v, want video small video small", seen)
	}
	if l.seqs.maxGap > 1 {
		t.Fatalf("the viewer's sequence numbers jumped by %d across the switches", l.seqs.maxGap)
	}
	if err := v.session.SetVideo(SourceSub); err == nil {
		t.Fatal("SetVideo(sub) was accepted: the sub-stream has its own section")
	}
}

// Asking for the small stream of a publisher that sends none gives the big
// one; when the small stream starts, the viewer moves to it, and back to
// the big one when it ends.
func TestSmallFallsBackToBig(t *testing.T) {
	s := startSFU(t)
	publishStreams(t, s, "room-f", "alice", SourceMain)
	waitTracks(t, s, "room-f", "alice", SourceMain)
	v, err := subscribeStreams(t, s, SubscribeRequest{Room: "room-f", UserID: "bob", Publisher: "alice", Video: SourceSmall,
		AllowAudio: true, AllowVideo: true}, 1)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the big stream", 5*time.Second, func() bool { return v.section(ssrcTagMain).latest() == SourceMain })
	// Alice republishes with a small stream.
	publishStreams(t, s, "room-f", "alice", SourceMain, SourceSmall)
	waitFor(t, "the small stream", 8*time.Second, func() bool { return v.section(ssrcTagMain).latest() == SourceSmall })
	v.section(ssrcTagMain).checkSwitches(t)
}

// The sub-stream's privileges: sending it needs bit 64, receiving it 128.
// A viewer without 128 that offers a second video section gets the camera
// only; one that asks for the screen alone is refused.
func TestSubStreamPrivileges(t *testing.T) {
	s := startSFU(t)
	pc := testpeer.NewPeer(t, testpeer.Options{})
	in, _ := testpeer.NewSource("x", 300, 25)
	if err := in.AddVideoTo(pc); err != nil {
		t.Fatal(err)
	}
	testpeer.Offer(t, pc)
	_, _, err := s.Publish(context.Background(), PublishRequest{Room: "room-p", UserID: "eve", Offer: pc.LocalDescription().SDP,
		Video: []Source{SourceSub}, AllowAudio: true, AllowVideo: true})
	if !errors.Is(err, ErrSendSubDenied) {
		t.Fatalf("a screen share without bit 64: %v, want ErrSendSubDenied", err)
	}

	// A screen published on its own sends no audio: with it, it would be
	// the member's camera publish.
	withAudio := testpeer.NewPeer(t, testpeer.Options{})
	testpeer.SendFills(t, withAudio, true, testpeer.FillScreen)
	testpeer.Offer(t, withAudio)
	_, _, err = s.Publish(context.Background(), PublishRequest{Room: "room-p", UserID: "eve", Offer: withAudio.LocalDescription().SDP,
		Video: []Source{SourceSub}, AllowAudio: true, AllowVideo: true, AllowSub: true})
	if !errors.Is(err, ErrScreenWithAudio) {
		t.Fatalf("a screen share with audio: %v, want ErrScreenWithAudio", err)
	}

	publishStreams(t, s, "room-p", "alice", SourceMain, SourceSub)
	waitTracks(t, s, "room-p", "alice", SourceMain, SourceSub)
	v, err := subscribeStreams(t, s, SubscribeRequest{Room: "room-p", UserID: "bob", Publisher: "alice", Sub: true,
		AllowAudio: true, AllowVideo: true}, 2)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the camera", 5*time.Second, func() bool { return len(v.section(ssrcTagMain).layers) > 20 })
	time.Sleep(500 * time.Millisecond)
	if n := len(v.section(ssrcTagSub).layers); n != 0 {
		t.Fatalf("a viewer without bit 128 got %d packets of the screen", n)
	}
	_, err = subscribeStreams(t, s, SubscribeRequest{Room: "room-p", UserID: "carol", Publisher: "alice", Video: SourceSub,
		AllowAudio: true, AllowVideo: true}, 1)
	if !errors.Is(err, ErrRecvSubDenied) {
		t.Fatalf("watching the screen alone without bit 128: %v, want ErrRecvSubDenied", err)
	}
}

// A screen shared from a PeerConnection of its own sits beside the
// member's camera instead of replacing it, and a viewer whose sub-stream
// section was answered before the share started gets it when it starts.
func TestScreenShareBesideTheCamera(t *testing.T) {
	s := startSFU(t)
	camera := publishStreams(t, s, "room-c", "alice", SourceMain)
	waitTracks(t, s, "room-c", "alice", SourceAudio, SourceMain)
	v, err := subscribeStreams(t, s, SubscribeRequest{Room: "room-c", UserID: "bob", Publisher: "alice", Sub: true,
		AllowAudio: true, AllowVideo: true, AllowSub: true}, 2)
	if err != nil {
		t.Fatal(err)
	}
	_, err = subscribeStreams(t, s, SubscribeRequest{Room: "room-c", UserID: "carol", Publisher: "alice", Video: SourceSub,
		AllowAudio: true, AllowVideo: true, AllowSub: true}, 1)
	if !errors.Is(err, ErrNotPublishing) {
		t.Fatalf("watching the screen alone before the share: %v, want ErrNotPublishing", err)
	}
	publishStreams(t, s, "room-c", "alice", SourceSub)
	waitFor(t, "the screen", 8*time.Second, func() bool { return v.section(ssrcTagSub).latest() == SourceSub })
	waitFor(t, "the camera", 5*time.Second, func() bool { return v.section(ssrcTagMain).latest() == SourceMain })
	select {
	case <-camera.Done():
		t.Fatal("the screen share replaced the camera's session")
	default:
	}
}

// The TRTC Web SDK puts a screen on a section of a running publish without
// new SDP. A section named idle is not waited for by viewers, and its
// track is forwarded once its packets come.
func TestAnIdleSectionStartsLater(t *testing.T) {
	s := startSFU(t)
	pc := testpeer.NewPeer(t, testpeer.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); pc.Close() })
	camera, _ := testpeer.NewSource("alice", 600, 25)
	screen, _ := testpeer.NewSource("alice-screen", 400, 25)
	camera.Fill, screen.Fill = streamFill[SourceMain], streamFill[SourceSub]
	if err := camera.AddTo(pc); err != nil {
		t.Fatal(err)
	}
	if err := screen.AddVideoTo(pc); err != nil {
		t.Fatal(err)
	}
	negotiateClient(t, pc, func(offer string) (string, error) {
		sess, answer, err := s.Publish(context.Background(), PublishRequest{Room: "room-i", UserID: "alice", Offer: offer,
			Video: []Source{SourceMain, SourceSub}, Idle: []Source{SourceSub},
			MinBitrate: 100, MaxBitrate: 800, AllowAudio: true, AllowVideo: true, AllowSub: true})
		if err == nil {
			t.Cleanup(sess.Close)
		}
		return answer, err
	})
	go camera.Run(ctx)
	waitTracks(t, s, "room-i", "alice", SourceAudio, SourceMain)
	start := time.Now()
	v, err := subscribeStreams(t, s, SubscribeRequest{Room: "room-i", UserID: "bob", Publisher: "alice", Sub: true,
		AllowAudio: true, AllowVideo: true, AllowSub: true}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= trackWait {
		t.Fatalf("the subscribe took %v: it waited for the idle screen section", d)
	}
	waitFor(t, "the camera", 5*time.Second, func() bool { return v.section(ssrcTagMain).latest() == SourceMain })
	go screen.Run(ctx)
	waitFor(t, "the screen", 8*time.Second, func() bool { return v.section(ssrcTagSub).latest() == SourceSub })

	// The client takes the screen off its section (and its packets would
	// stop): the screen ends for the room, and comes back when it says so.
	var pub *Session
	s.mu.Lock()
	r := s.rooms["room-i"]
	s.mu.Unlock()
	r.mu.Lock()
	pub = r.members["alice"].publishers[slotMain]
	r.mu.Unlock()
	pub.SetSending(SourceSub, false)
	if r.track("alice", SourceSub) != nil {
		t.Fatal("the screen is still published after SetSending(false)")
	}
	time.Sleep(200 * time.Millisecond)
	stopped := len(v.section(ssrcTagSub).layers)
	time.Sleep(300 * time.Millisecond)
	if n := len(v.section(ssrcTagSub).layers); n != stopped {
		t.Fatalf("the viewer got %d screen packets after the screen stopped", n-stopped)
	}
	pub.SetSending(SourceSub, true)
	waitFor(t, "the screen again", 5*time.Second, func() bool { return len(v.section(ssrcTagSub).layers) > stopped+20 })
	if gap := v.section(ssrcTagSub).seqs.maxGap; gap > 1 {
		t.Fatalf("the screen's numbering jumped by %d across the stop", gap)
	}
}

// A viewer turns the publisher's video off and on again without new SDP
// (the TRTC Web SDK's subscribe_change): while it is off the viewer's
// video section sends nothing and its audio plays on; when it is back,
// video restarts at a keyframe, with the numbering running on and the
// timestamps advanced by the time it was off.
func TestPausingASectionAndResumingIt(t *testing.T) {
	s := startSFU(t)
	pub := publishStreams(t, s, "room-p", "alice", SourceMain)
	waitTracks(t, s, "room-p", "alice", SourceAudio, SourceMain)
	v, err := subscribeWith(t, s, SubscribeRequest{Room: "room-p", UserID: "bob", Publisher: "alice",
		AllowAudio: true, AllowVideo: true}, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "video", 5*time.Second, func() bool { return len(v.section(ssrcTagMain).layers) > 20 })
	video, audio := v.session.sections[SourceMain], v.session.sections[SourceAudio]
	camera := pub.room.track("alice", SourceMain)
	if err := v.session.SetReceiving(SourceMain, false); err != nil {
		t.Fatal(err)
	}
	sent, heard, forwarded := video.sentPackets.Load(), audio.sentPackets.Load(), camera.stats.packets.Load()
	waitFor(t, "50 more video packets forwarded", 10*time.Second, func() bool { return camera.stats.packets.Load() >= forwarded+50 })
	// One packet may have been on its way through the section when it
	// was turned off.
	if n := video.sentPackets.Load() - sent; n > 1 {
		t.Fatalf("%d video packets sent to a viewer who turned video off", n)
	}
	if audio.sentPackets.Load() == heard {
		t.Fatal("turning video off stopped the audio")
	}
	if err := v.session.SetReceiving(SourceMain, true); err != nil {
		t.Fatal(err)
	}
	before := len(v.section(ssrcTagMain).layers)
	waitFor(t, "video again", 10*time.Second, func() bool { return len(v.section(ssrcTagMain).layers) > before+20 })
	l := v.section(ssrcTagMain)
	var resumes []int // where the timestamps jump by more than 200 ms
	for i := 1; i < len(l.ts); i++ {
		if l.ts[i]-l.ts[i-1] > 90000/5 {
			resumes = append(resumes, i)
		}
	}
	if len(resumes) != 1 || !l.keyAt[resumes[0]] {
		t.Fatalf("video resumed at packets %v (keyframe starts: %v), want once, at a keyframe", resumes, l.keyAt)
	}
	if l.seqs.maxGap > 1 {
		t.Fatalf("the viewer's sequence numbers jumped by %d across the pause", l.seqs.maxGap)
	}
	if err := v.session.SetReceiving(SourceSub, false); err == nil {
		t.Fatal("a viewer without a screen section paused one")
	}
}
