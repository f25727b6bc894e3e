// Package bench generates load against a media server and measures it:
// real WebRTC clients publishing synthetic H.264 + Opus over WHIP or the
// /ws signalling, RTMP pushers, all played back over WHEP or /ws, with the
// server's CPU read from /proc or its /metrics. It backs `trtcd bench` and
// the forwarding benchmarks.
package bench

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/peer"
)

// Target is a server under load, reached over WHIP/WHEP.
type Target struct {
	Name string
	URL  string // http://host:port
	PID  int    // the server process, for CPU readings; 0 when unknown
	// Auth returns the bearer token and extra query for a user of a room;
	// nil for a server without authentication.
	Auth func(room, user string) (token, query string)
	App  uint32 // sdkAppId in the URL path
	// WHIP and WHEP are URL templates for servers whose paths differ from
	// trtcd's, with {app}, {room}, {user} and {publisher} filled in; empty
	// means trtcd's paths under URL.
	WHIP, WHEP string
	// RTMP is where RTMP pushers publish, rtmp://host:port; empty means
	// the URL's host on port 1935.
	RTMP string
	// ViewURL, when set, is another server the viewers play from (WHEP at
	// ViewURL for the publisher's room and user on URL): a second node of
	// a cluster, so every packet crosses the relay. ViewPID is its
	// process, for CPU readings. Empty: viewers play from URL.
	ViewURL string
	ViewPID int
}

// CrossNode says whether viewers play from another server than the
// publishers publish to.
func (t Target) CrossNode() bool { return t.ViewURL != "" && t.ViewURL != t.URL }

// viewing is the target as the viewers reach it: the view server when
// there is one.
func (t Target) viewing() Target {
	if t.CrossNode() {
		t.URL, t.PID = t.ViewURL, t.ViewPID
	}
	return t
}

const (
	defaultWHIP = "/whip/{app}/{room}/{user}"
	defaultWHEP = "/whep/{app}/{room}/{publisher}?userId={user}"
)

// endpoint fills a URL template.
func (t Target) endpoint(template, fallback, room, user, publisher string) string {
	if template == "" {
		template = t.URL + fallback
	}
	return strings.NewReplacer("{app}", fmt.Sprint(t.App), "{room}", url.QueryEscape(room),
		"{user}", url.QueryEscape(user), "{publisher}", url.QueryEscape(publisher)).Replace(template)
}

// Pair is one room's media: a publisher and its viewers (one in a 1v1).
type Pair struct {
	Kind    ClientKind
	room    string
	pub     *webrtc.PeerConnection // nil when the publisher pushes RTMP
	viewers []*webrtc.PeerConnection
	closers []func() // signalling connections and RTMP pushers
	cancel  context.CancelFunc
	// Received counts RTP packets the viewers got (audio and video).
	Received atomic.Int64
	// sent counts the RTP packets the publisher sent, where the engine
	// knows it (the raw engine's); 0 otherwise.
	sent atomic.Int64

	started    time.Time // the publisher's offer went out
	mu         sync.Mutex
	streams    []*Stream
	joined     time.Time // the first viewer's answer was applied
	firstMedia time.Time // the first packet reached a viewer
	firstVideo time.Time
	latency    *Samples // end-to-end, milliseconds
}

// Stream is what one viewer receives of one kind.
type Stream struct {
	Kind   string
	Seq    SeqStats
	Jitter *Jitter
	Bytes  uint64
}

// StartPair publishes synthetic media into room as user publisher over
// WHIP and plays it back over WHEP to viewers clients named after viewer.
// It returns once every viewer's answer is applied.
func StartPair(ctx context.Context, t Target, room, publisher, viewer string, bitrateKbps, fps, viewers int) (*Pair, error) {
	return startPairOfKind(ctx, t, pairSpec{Kind: KindWHIP, Room: room, Publisher: publisher,
		Viewers: viewerNames(viewer, viewers), BitrateKbps: bitrateKbps, FPS: fps}, nil)
}

// viewerNames are the user ids of a publisher's viewers: viewer itself
// when there is one, numbered after it when there are more.
func viewerNames(viewer string, n int) []string {
	if n <= 1 {
		return []string{viewer}
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%d", viewer, i)
	}
	return names
}

// pairSpec says how one publisher and its viewers reach the server.
type pairSpec struct {
	Kind        ClientKind
	Room        string
	Publisher   string
	Viewers     []string
	BitrateKbps int
	FPS         int
	UplinkLoss  float64 // dropped from what the publisher sends
	Publish     signal  // the publisher's offer → answer
	Play        func(viewer string) signal
	raw         *rawEngine // nil: the pion engine
}

// startWebRTCPair runs a synthetic WebRTC publisher and its viewers.
func startWebRTCPair(ctx context.Context, s pairSpec) (*Pair, error) {
	pubAPI, err := peer.API(peer.Options{UplinkLoss: s.UplinkLoss})
	if err != nil {
		return nil, err
	}
	p := newPair(s)
	if p.pub, err = pubAPI.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return nil, err
	}
	src, err := peer.NewSource("pub", s.BitrateKbps, s.FPS)
	if err != nil {
		p.Close()
		return nil, err
	}
	if err := src.AddTo(p.pub); err != nil {
		p.Close()
		return nil, err
	}
	if err := exchange(ctx, p.pub, s.Publish); err != nil {
		p.Close()
		return nil, fmt.Errorf("publish: %w", err)
	}
	pctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go src.Run(pctx)
	if err := p.addViewers(ctx, s); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func newPair(s pairSpec) *Pair {
	return &Pair{Kind: s.Kind, room: s.Room, started: time.Now(), latency: NewSamples(20000), cancel: func() {}}
}

// addViewers plays the publisher to every viewer; viewers have no loss.
func (p *Pair) addViewers(ctx context.Context, s pairSpec) error {
	api, err := peer.API(peer.Options{})
	if err != nil {
		return err
	}
	for _, v := range s.Viewers {
		if err := p.addViewer(ctx, api, s.Play(v)); err != nil {
			return fmt.Errorf("play: %w", err)
		}
	}
	return nil
}

// addViewer retries until the publisher's tracks are there to play.
func (p *Pair) addViewer(ctx context.Context, api *webrtc.API, play signal) error {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	p.viewers = append(p.viewers, pc)
	if err := peer.ReceiveAudioVideo(pc); err != nil {
		return err
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { p.receive(tr) })
	deadline := time.Now().Add(10 * time.Second)
	for { // the publisher's tracks appear once its connection is up
		err = exchange(ctx, pc, play)
		if err == nil {
			p.mu.Lock()
			if p.joined.IsZero() {
				p.joined = time.Now()
			}
			p.mu.Unlock()
		}
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// receive reads one track at a viewer and keeps its statistics: sequence
// accounting, jitter, bytes, and the latency the sender stamped in.
func (p *Pair) receive(tr *webrtc.TrackRemote) {
	video := tr.Kind() == webrtc.RTPCodecTypeVideo
	st := &Stream{Kind: tr.Kind().String(), Jitter: NewJitter(tr.Codec().ClockRate)}
	p.mu.Lock()
	p.streams = append(p.streams, st)
	p.mu.Unlock()
	var pkt rtp.Packet
	buf := make([]byte, 1500)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		p.Received.Add(1)
		p.mu.Lock()
		if p.firstMedia.IsZero() {
			p.firstMedia = now
		}
		if video && p.firstVideo.IsZero() {
			p.firstVideo = now
		}
		st.Seq.Add(pkt.SequenceNumber)
		st.Jitter.Add(pkt.Timestamp, now)
		st.Bytes += uint64(n)
		if sent, ok := peer.Stamped(pkt.Payload, video); ok {
			if d := now.Sub(sent); d >= 0 && d < 10*time.Second {
				p.latency.Add(float64(d.Microseconds()) / 1000)
			}
		}
		p.mu.Unlock()
	}
}

// Close stops the clients and the publisher's signalling or push.
func (p *Pair) Close() {
	p.cancel()
	if p.pub != nil {
		p.pub.Close()
	}
	for _, v := range p.viewers {
		v.Close()
	}
	for _, c := range p.closers {
		c()
	}
}

// exchange does one offer/answer for pc through signal.
func exchange(ctx context.Context, pc *webrtc.PeerConnection, send signal) error {
	if pc.LocalDescription() == nil {
		if err := peer.Offer(ctx, pc); err != nil {
			return err
		}
	}
	answer, err := send(ctx, pc.LocalDescription().SDP)
	if err != nil {
		return err
	}
	return peer.SetAnswer(pc, answer)
}
