package cluster_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/server"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/signaling"
	"github.com/trtcd/trtcd/signaling/tlssig"
)

const (
	app    = 1400000001
	appKey = "c1d2e3f405162738495a6b7c8d9eafb0c1d2e3f405162738495a6b7c8d9eafb0"
)

// clusterCA issues the test nodes' certificates.
var clusterCA = func() *cluster.CA {
	ca, err := cluster.NewCA()
	if err != nil {
		panic(err)
	}
	return ca
}()

func startNode(t *testing.T, redisURL, id string) *server.Server {
	t.Helper()
	creds, err := clusterCA.Credentials(id)
	if err != nil {
		t.Fatal(err)
	}
	apps, err := signaling.NewApps(signaling.App{SDKAppID: app, Key: appKey})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(server.Config{
		HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), Apps: apps,
		Media:   sfu.TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true},
		Bitrate: signaling.DefaultBitrateLimits, Version: "cluster-test",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("node", id),
		Cluster: server.ClusterConfig{RedisURL: redisURL, NodeID: id, RelayAddr: "127.0.0.1:0", Credentials: creds,
			Heartbeat: 200 * time.Millisecond, TTL: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv
}

func userSig(user string) string { return tlssig.GenUserSig(appKey, app, user, time.Hour, time.Now()) }

// post sends an SDP offer and returns the answer and the session URL.
func post(t *testing.T, url, user string, pc *webrtc.PeerConnection) (answer, location string, status int) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(pc.LocalDescription().SDP))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+userSig(user))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.Header.Get("Location"), resp.StatusCode
}

func offer(t *testing.T, pc *webrtc.PeerConnection) {
	t.Helper()
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	pc.SetLocalDescription(o)
	<-gathered
}

// seqs counts the distinct RTP sequence numbers a viewer got for one kind.
type seqs struct {
	mu       sync.Mutex
	seen     map[uint16]bool
	min, max int // unwrapped
	last     int
	codec    string
	lastAt   time.Time
	maxPause time.Duration // the longest time without a packet
}

func (s *seqs) add(seq uint16, codec string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen, s.min, s.max, s.last, s.codec = map[uint16]bool{}, int(seq), int(seq), int(seq), codec
	}
	// unwrap relative to the last packet
	d := int(int16(seq - uint16(s.last)))
	u := s.last + d
	s.last = u
	s.seen[seq] = true
	s.min, s.max = min(s.min, u), max(s.max, u)
	now := time.Now()
	if !s.lastAt.IsZero() {
		s.maxPause = max(s.maxPause, now.Sub(s.lastAt))
	}
	s.lastAt = now
}

// pause is the longest time without a packet so far, and resets it.
func (s *seqs) pause() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.maxPause
	s.maxPause = 0
	return p
}

// delivery is the share of the sequence range that arrived.
func (s *seqs) delivery() (got, span int, ratio float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		return 0, 0, 0
	}
	span = s.max - s.min + 1
	return len(s.seen), span, float64(len(s.seen)) / float64(span)
}

func TestAWHIPPublisherOnNodeAIsWatchedOverWHEPOnNodeB(t *testing.T) {
	redisURL := cluster.StartRedis(t)
	a := startNode(t, redisURL, "node-a")
	b := startNode(t, redisURL, "node-b")
	baseA := "http://" + a.HTTPAddr().String()
	got, whipSession := watchAcross(t, a, b, "4711")
	defer func() {
		g1, _, _ := got["audio"].delivery()
		g2, _, _ := got["video"].delivery()
		t.Logf("audio %d video %d, B relays %v, in/out %v", g1, g2, b.Cluster().Relays(), fmt.Sprint(b.Cluster().RelayedPackets()))
	}()
	// A viewer with a forged userSig is refused on B exactly as on A.
	for _, base := range []string{baseA, "http://" + b.HTTPAddr().String()} {
		req, _ := http.NewRequest("POST", base+"/whep/"+fmt.Sprint(app)+"/4711/alice?userId=mallory", strings.NewReader("v=0"))
		req.Header.Set("Authorization", "Bearer forged")
		req.Header.Set("Content-Type", "application/sdp")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"code":70346`) {
			t.Errorf("forged userSig on %s: %d %s, want 401 with 70346", base, resp.StatusCode, body)
		}
	}
	time.Sleep(8 * time.Second)
	for kind, s := range got {
		n, span, ratio := s.delivery()
		t.Logf("%s (%s): %d of %d packets (%.2f%%)", kind, s.codec, n, span, 100*ratio)
		if ratio < 0.99 {
			t.Errorf("%s delivery %.2f%% < 99%%", kind, 100*ratio)
		}
	}
	if n, _, _ := got["audio"].delivery(); n < 300 { // 50 packets a second for 8 s
		t.Errorf("only %d audio packets in 8 s", n)
	}
	if n, _, _ := got["video"].delivery(); n < 200 {
		t.Errorf("only %d video packets in 8 s", n)
	}
	if c := got["video"].codec; c != webrtc.MimeTypeH264 {
		t.Errorf("video codec %q, want H264", c)
	}
	if relays := b.Cluster().Relays(); len(relays) != 1 {
		t.Errorf("B relays %v, want alice only", relays)
	}
	in, _ := b.Cluster().RelayedPackets()
	_, out := a.Cluster().RelayedPackets()
	t.Logf("relayed: A sent %d, B received %d", out, in)

	// alice leaves: B stops relaying her and the directory forgets her.
	req, _ := http.NewRequest("DELETE", baseA+whipSession, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	testpeer.WaitFor(t, "B to end alice's relayed tracks", 5*time.Second, func() bool {
		return len(b.Cluster().Relays()) == 0
	})
	pubs, err := a.Cluster().Directory().Publications(context.Background(), signaling.RoomKey(app, tlssig.Room{ID: 4711}))
	if err != nil || len(pubs) != 0 {
		t.Errorf("directory still lists %v (%v)", pubs, err)
	}
}
