// Package bench generates load against a media server and measures it:
// real WebRTC clients publishing synthetic H.264 + Opus over WHIP and
// playing it back over WHEP, with the server's CPU read from /proc. It
// backs `trtcd bench` and the forwarding benchmarks.
package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/testpeer"
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
	pub     *webrtc.PeerConnection
	viewers []*webrtc.PeerConnection
	cancel  context.CancelFunc
	// Received counts RTP packets the viewers got (audio and video).
	Received atomic.Int64

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

// StartPair publishes synthetic media into room as user publisher and plays
// it back to viewers clients named after viewer. It returns once every
// viewer's answer is applied.
func StartPair(ctx context.Context, t Target, room, publisher, viewer string, bitrateKbps, fps, viewers int) (*Pair, error) {
	api, err := testpeer.API(testpeer.Options{})
	if err != nil {
		return nil, err
	}
	p := &Pair{started: time.Now(), latency: NewSamples(20000)}
	pctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	if p.pub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return nil, err
	}
	src, err := testpeer.NewSource("pub", bitrateKbps, fps)
	if err != nil {
		p.Close()
		return nil, err
	}
	if err := src.AddTo(p.pub); err != nil {
		p.Close()
		return nil, err
	}
	if err := exchange(ctx, p.pub, t, t.endpoint(t.WHIP, defaultWHIP, room, publisher, publisher), room, publisher); err != nil {
		p.Close()
		return nil, fmt.Errorf("publish: %w", err)
	}
	go src.Run(pctx)
	for i := range viewers {
		name := viewer
		if viewers > 1 {
			name = fmt.Sprintf("%s%d", viewer, i)
		}
		if err := p.addViewer(ctx, api, t, room, publisher, name); err != nil {
			p.Close()
			return nil, fmt.Errorf("play: %w", err)
		}
	}
	return p, nil
}

func (p *Pair) addViewer(ctx context.Context, api *webrtc.API, t Target, room, publisher, viewer string) error {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	p.viewers = append(p.viewers, pc)
	if err := testpeer.ReceiveAudioVideo(pc); err != nil {
		return err
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { p.receive(tr) })
	endpoint := t.endpoint(t.WHEP, defaultWHEP, room, viewer, publisher)
	deadline := time.Now().Add(10 * time.Second)
	for { // the publisher's tracks appear once its connection is up
		err = exchange(ctx, pc, t, endpoint, room, viewer)
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
		if sent, ok := testpeer.Stamped(pkt.Payload, video); ok {
			if d := now.Sub(sent); d >= 0 && d < 10*time.Second {
				p.latency.Add(float64(d.Microseconds()) / 1000)
			}
		}
		p.mu.Unlock()
	}
}

// Close stops both clients.
func (p *Pair) Close() {
	p.cancel()
	if p.pub != nil {
		p.pub.Close()
	}
	for _, v := range p.viewers {
		v.Close()
	}
}

// exchange does one WHIP/WHEP offer/answer for pc at endpoint.
func exchange(ctx context.Context, pc *webrtc.PeerConnection, t Target, endpoint, room, user string) error {
	if pc.LocalDescription() == nil {
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			return err
		}
		gathered := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(offer); err != nil {
			return err
		}
		<-gathered
	}
	token := ""
	if t.Auth != nil {
		var query string
		token, query = t.Auth(room, user)
		if query != "" {
			sep := "?"
			if strings.Contains(endpoint, "?") {
				sep = "&"
			}
			endpoint += sep + query
		}
	}
	req, err := http.NewRequestWithContext(ctx, "POST", endpoint, strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/sdp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)})
}
