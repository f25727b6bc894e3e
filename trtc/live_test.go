package trtc

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/rtmp"
)

// flvURL is the HTTP-FLV url of a member's stream, for a viewer.
func flvURL(s *whipServer, room int, publisher, viewer string) string {
	return fmt.Sprintf("%s/live/%d_%d_%s_main.flv?userid=%s&usersig=%s", s.URL, open, room, publisher, viewer,
		url.QueryEscape(sigFor(open, viewer, time.Hour)))
}

// A player of a stream nobody publishes waits PublisherWait, then gets
// HTTP 404 with code 82, even when the server's read and write timeouts
// are shorter than the wait. A player of a live stream gets FLV at once.
func TestFLVPlayerOfAnAbsentPublisherEnds(t *testing.T) {
	s := startServer(t, 0, func(s *whipServer) {
		s.Config.ReadTimeout, s.Config.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
		s.live.PublisherWait = time.Second
	})
	r := getFrom(t, http.DefaultClient, flvURL(s, 31, "ghost", "viewer"))
	if r.status != http.StatusNotFound || r.code != CodeParamCheckFailed || !strings.Contains(r.message, "ghost published nothing") {
		t.Fatalf("a player of an absent stream got HTTP %d code %d %q, want 404 and 82", r.status, r.code, r.message)
	}
	if n := s.rooms.viewerSessions[userKey{open, "viewer"}]; n != 0 {
		t.Fatalf("the ended player still holds %d viewer slots", n)
	}
	testpeer.PublishWHIP(t, fmt.Sprintf("%s/whip/%d/31/alice", s.URL, open), sigFor(open, "alice", time.Hour), 300)
	resp, err := http.Get(flvURL(s, 31, "alice", "viewer"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	header := make([]byte, 3)
	if _, err := io.ReadFull(resp.Body, header); err != nil || resp.StatusCode != http.StatusOK || string(header) != "FLV" {
		t.Fatalf("a player of a live stream got HTTP %d %q (%v)", resp.StatusCode, header, err)
	}
}

// Over RTMP, a player of an absent stream is told so when the wait ends:
// ffmpeg shows the NetStream.Play.StreamNotFound status's description,
// which starts with code 82.
func TestRTMPPlayerOfAnAbsentPublisherEnds(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed")
	}
	s := startServer(t, 0, func(s *whipServer) { s.live.PublisherWait = time.Second })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &rtmp.Server{Handler: s.live}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	play := fmt.Sprintf("rtmp://%s/live/%d_32_ghost_main?userid=viewer&usersig=%s", ln.Addr(), open, url.QueryEscape(sigFor(open, "viewer", time.Hour)))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-hide_banner", "-i", play, "-f", "null", "-").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Server error: 82 ghost published nothing") {
		t.Fatalf("ffmpeg playing an absent stream: %v\n%s", err, out)
	}
}

// One userId holds at most ViewersPerUser viewer sessions across rooms:
// the next player is refused with 102052; when one leaves, a new one is
// admitted.
func TestViewerSessionsPerUserAcrossRooms(t *testing.T) {
	s := startServer(t, 0, func(s *whipServer) { s.live.PublisherWait = time.Hour })
	held := s.rooms.viewerCount("viewer")
	var wg sync.WaitGroup
	cancels := make([]context.CancelFunc, DefaultViewersPerUser)
	for i := range cancels {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		wg.Add(1)
		go func() {
			defer wg.Done()
			holdFLV(ctx, flvURL(s, 40+i%3, "ghost", "viewer")) // three rooms
		}()
	}
	defer wg.Wait()
	defer func() {
		for _, cancel := range cancels {
			cancel()
		}
	}()
	waitUntil(t, "50 players admitted", 30*time.Second, func() bool { return held() == DefaultViewersPerUser })
	r := getFrom(t, http.DefaultClient, flvURL(s, 43, "ghost", "viewer"))
	if r.code != CodeRoomFull {
		t.Fatalf("player %d: HTTP %d code %d %q, want %d", DefaultViewersPerUser+1, r.status, r.code, r.message, CodeRoomFull)
	}
	cancels[0]()
	waitUntil(t, "a player to leave", 10*time.Second, func() bool { return held() == DefaultViewersPerUser-1 })
	ctx, cancel := context.WithCancel(context.Background())
	cancels[0] = cancel
	wg.Add(1)
	go func() { defer wg.Done(); holdFLV(ctx, flvURL(s, 43, "ghost", "viewer")) }()
	waitUntil(t, "a new player admitted", 10*time.Second, func() bool { return held() == DefaultViewersPerUser })
}

// holdFLV plays url until ctx ends.
func holdFLV(ctx context.Context, url string) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// viewerCount is how many viewer sessions user (of the open app) holds.
func (r *Registry) viewerCount(user string) func() int {
	return func() int {
		r.viewersMu.Lock()
		defer r.viewersMu.Unlock()
		return r.viewerSessions[userKey{open, user}]
	}
}

// HTTP-FLV players from one address are capped: past FLVLimits.Connections
// the next gets 429 with 14009; when one leaves, a new one is admitted, and
// a player at another address is served all along.
func TestFLVPlayersPerAddress(t *testing.T) {
	s := startServer(t, 0, func(s *whipServer) {
		s.live.PublisherWait = time.Hour
		s.live.FLVLimits.Connections = 3
	})
	held := s.rooms.viewerCount("viewer")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	first, cancelFirst := context.WithCancel(ctx)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ctx
			if i == 0 {
				c = first
			}
			holdFLV(c, flvURL(s, 50+i, "ghost", "viewer"))
		}()
	}
	waitUntil(t, "3 players admitted", 30*time.Second, func() bool { return held() == 3 })
	if r := getFrom(t, http.DefaultClient, flvURL(s, 53, "ghost", "viewer")); r.status != http.StatusTooManyRequests || r.code != CodeRateLimited {
		t.Fatalf("a 4th player from one address: HTTP %d code %d, want 429 and %d", r.status, r.code, CodeRateLimited)
	}
	other := fromAddress(t, "127.0.0.2")
	wg.Add(1)
	go func() {
		defer wg.Done()
		req, _ := http.NewRequestWithContext(ctx, "GET", flvURL(s, 54, "ghost", "viewer"), nil)
		if resp, err := other.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitUntil(t, "the player at another address admitted", 10*time.Second, func() bool { return held() == 4 })
	cancelFirst()
	waitUntil(t, "a player to leave", 10*time.Second, func() bool { return held() == 3 })
	wg.Add(1)
	go func() { defer wg.Done(); holdFLV(ctx, flvURL(s, 55, "ghost", "viewer")) }()
	waitUntil(t, "a new player admitted", 10*time.Second, func() bool { return held() == 4 })
}

// A panic while serving an HTTP-FLV player ends that response only: it is
// counted, and the next player is served.
func TestFLVPanicEndsOnlyItsPlayer(t *testing.T) {
	var panicked atomic.Bool
	s := startServer(t, 0, func(s *whipServer) {
		s.live.PublisherWait = 200 * time.Millisecond
		s.live.Now = func() time.Time {
			if panicked.CompareAndSwap(false, true) {
				panic("a bug a player's request reaches")
			}
			return time.Now()
		}
	})
	before := panics.Count(panics.FLV)
	if _, err := http.Get(flvURL(s, 33, "ghost", "viewer")); err == nil {
		t.Fatal("the request that panicked got a response")
	}
	if got := panics.Count(panics.FLV) - before; got != 1 {
		t.Fatalf("%v panics counted, want 1", got)
	}
	if r := getFrom(t, http.DefaultClient, flvURL(s, 33, "ghost", "viewer")); r.status != http.StatusNotFound || r.code != CodeParamCheckFailed {
		t.Fatalf("the next player: HTTP %d code %d %q", r.status, r.code, r.message)
	}
}
