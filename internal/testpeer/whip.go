package testpeer

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/peer"
)

// Offer sets pc's local description to a fresh offer with every candidate
// (WHIP and WHEP do not trickle).
func Offer(t testing.TB, pc *webrtc.PeerConnection) {
	t.Helper()
	if err := peer.Offer(context.Background(), pc); err != nil {
		t.Fatal(err)
	}
}

// PostSDP posts pc's offer to a WHIP or WHEP url with a bearer token and
// returns the answer (or error body), the session URL and the status.
func PostSDP(t testing.TB, url, bearer string, pc *webrtc.PeerConnection) (answer, location string, status int) {
	t.Helper()
	answer, location, status, err := peer.PostSDP(context.Background(), http.DefaultClient, url, bearer, pc)
	if err != nil {
		t.Fatal(err)
	}
	return answer, location, status
}

func setAnswer(t testing.TB, pc *webrtc.PeerConnection, answer string) {
	t.Helper()
	if err := peer.SetAnswer(pc, answer); err != nil {
		t.Fatal(err)
	}
}

// PublishWHIP publishes synthetic H.264 and Opus at kbps to a WHIP url
// until the test ends; it returns the session URL.
func PublishWHIP(t testing.TB, url, bearer string, kbps int) string {
	t.Helper()
	pc := NewPeer(t, Options{})
	src, err := NewSource("pub", kbps, 25)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.AddTo(pc); err != nil {
		t.Fatal(err)
	}
	Offer(t, pc)
	answer, session, status := PostSDP(t, url, bearer, pc)
	if status != http.StatusCreated {
		t.Fatalf("WHIP %s: %d %s", url, status, answer)
	}
	setAnswer(t, pc, answer)
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go src.Run(ctx)
	return session
}

// WatchWHEP plays a WHEP url (retrying its POST for up to 15 s, as a
// player does while the stream comes up) and returns what arrives, by
// kind ("audio", "video"), once both kinds flow.
func WatchWHEP(t testing.TB, url, bearer string) map[string]*Seqs {
	t.Helper()
	pc := NewPeer(t, Options{})
	if err := ReceiveAudioVideo(pc); err != nil {
		t.Fatal(err)
	}
	got := map[string]*Seqs{"audio": {}, "video": {}}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		s := got[tr.Kind().String()]
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			s.Add(p.SequenceNumber, tr.Codec().MimeType)
		}
	})
	Offer(t, pc)
	var answer string
	WaitFor(t, "the WHEP answer from "+url, 15*time.Second, func() bool {
		var status int
		answer, _, status = PostSDP(t, url, bearer, pc)
		return status == http.StatusCreated
	})
	setAnswer(t, pc, answer)
	WaitFor(t, "the first audio and video", 10*time.Second, func() bool {
		return got["audio"].Packets() > 0 && got["video"].Packets() > 0
	})
	return got
}

// Seqs counts the distinct RTP sequence numbers a viewer got for one kind.
type Seqs struct {
	mu       sync.Mutex
	seen     map[uint16]bool
	min, max int // unwrapped
	last     int
	codec    string
	lastAt   time.Time
	maxPause time.Duration // the longest time without a packet
}

// Add records a packet.
func (s *Seqs) Add(seq uint16, codec string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen, s.min, s.max, s.last, s.codec = map[uint16]bool{}, int(seq), int(seq), int(seq), codec
	}
	u := s.last + int(int16(seq-uint16(s.last))) // unwrapped relative to the last packet
	s.last = u
	s.seen[seq] = true
	s.min, s.max = min(s.min, u), max(s.max, u)
	now := time.Now()
	if !s.lastAt.IsZero() {
		s.maxPause = max(s.maxPause, now.Sub(s.lastAt))
	}
	s.lastAt = now
}

// Packets is how many distinct packets arrived.
func (s *Seqs) Packets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// Codec is the MIME type of the packets.
func (s *Seqs) Codec() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codec
}

// Pause is the longest time without a packet since the last call.
func (s *Seqs) Pause() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.maxPause
	s.maxPause = 0
	return p
}

// Delivery is the share of the sequence range that arrived.
func (s *Seqs) Delivery() (got, span int, ratio float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		return 0, 0, 0
	}
	span = s.max - s.min + 1
	return len(s.seen), span, float64(len(s.seen)) / float64(span)
}
