package live_test

import (
	"context"
	"errors"
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

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/rtmp"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// The RTMP and HTTP-FLV admission tests run the ways in on a room core
// (testways): players need a WHIP publisher to watch.

const open = testways.OpenApp // userSig is enough

var waitUntil = testpeer.WaitFor

// flvURL is the HTTP-FLV url of a member's stream, for a viewer.
func flvURL(s *testways.Ways, room int, publisher, viewer string) string {
	return fmt.Sprintf("%s/live/%d_%d_%s_main.flv?userid=%s&usersig=%s", s.URL, open, room, publisher, viewer,
		url.QueryEscape(testways.UserSig(open, viewer, time.Hour)))
}

// A player of a stream nobody publishes waits PublisherWait, then gets
// HTTP 404 with code 82, even when the server's read and write timeouts
// are shorter than the wait. A player of a live stream gets FLV at once.
func TestFLVPlayerOfAnAbsentPublisherEnds(t *testing.T) {
	s := testways.Start(t, 0, func(s *testways.Ways) {
		s.Config.ReadTimeout, s.Config.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
		s.Live.PublisherWait = time.Second
	})
	r := testways.Get(t, http.DefaultClient, flvURL(s, 31, "ghost", "viewer"))
	if r.Status != http.StatusNotFound || r.Code != trtc.CodeParamCheckFailed || !strings.Contains(r.Message, "ghost published nothing") {
		t.Fatalf("a player of an absent stream got HTTP %d code %d %q, want 404 and 82", r.Status, r.Code, r.Message)
	}
	if n := s.Rooms.ViewerSessions(open, "viewer"); n != 0 {
		t.Fatalf("the ended player still holds %d viewer slots", n)
	}
	testpeer.PublishWHIP(t, fmt.Sprintf("%s/whip/%d/31/alice", s.URL, open), testways.UserSig(open, "alice", time.Hour), 300)
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
	s := testways.Start(t, 0, func(s *testways.Ways) { s.Live.PublisherWait = time.Second })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &rtmp.Server{Handler: s.Live}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	play := fmt.Sprintf("rtmp://%s/live/%d_32_ghost_main?userid=viewer&usersig=%s", ln.Addr(), open, url.QueryEscape(testways.UserSig(open, "viewer", time.Hour)))
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
	s := testways.Start(t, 0, func(s *testways.Ways) { s.Live.PublisherWait = time.Hour })
	held := viewerCount(s, "viewer")
	var wg sync.WaitGroup
	cancels := make([]context.CancelFunc, trtc.DefaultViewersPerUser)
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
	waitUntil(t, "50 players admitted", 30*time.Second, func() bool { return held() == trtc.DefaultViewersPerUser })
	r := testways.Get(t, http.DefaultClient, flvURL(s, 43, "ghost", "viewer"))
	if r.Code != trtc.CodeRoomFull {
		t.Fatalf("player %d: HTTP %d code %d %q, want %d", trtc.DefaultViewersPerUser+1, r.Status, r.Code, r.Message, trtc.CodeRoomFull)
	}
	cancels[0]()
	waitUntil(t, "a player to leave", 10*time.Second, func() bool { return held() == trtc.DefaultViewersPerUser-1 })
	ctx, cancel := context.WithCancel(context.Background())
	cancels[0] = cancel
	wg.Add(1)
	go func() { defer wg.Done(); holdFLV(ctx, flvURL(s, 43, "ghost", "viewer")) }()
	waitUntil(t, "a new player admitted", 10*time.Second, func() bool { return held() == trtc.DefaultViewersPerUser })
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
func viewerCount(s *testways.Ways, user string) func() int {
	return func() int { return s.Rooms.ViewerSessions(open, user) }
}

// HTTP-FLV players from one address are capped: past FLVLimits.Connections
// the next gets 429 with 14009; when one leaves, a new one is admitted, and
// a player at another address is served all along.
func TestFLVPlayersPerAddress(t *testing.T) {
	s := testways.Start(t, 0, func(s *testways.Ways) {
		s.Live.PublisherWait = time.Hour
		s.Live.FLVLimits.Connections = 3
	})
	held := viewerCount(s, "viewer")
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
	if r := testways.Get(t, http.DefaultClient, flvURL(s, 53, "ghost", "viewer")); r.Status != http.StatusTooManyRequests || r.Code != trtc.CodeRateLimited {
		t.Fatalf("a 4th player from one address: HTTP %d code %d, want 429 and %d", r.Status, r.Code, trtc.CodeRateLimited)
	}
	other := testways.FromAddress(t, "127.0.0.2")
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
	s := testways.Start(t, 0, func(s *testways.Ways) {
		s.Live.PublisherWait = 200 * time.Millisecond
		s.Gate.Now = func() time.Time { // the gate runs inside the player's request
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
	if r := testways.Get(t, http.DefaultClient, flvURL(s, 33, "ghost", "viewer")); r.Status != http.StatusNotFound || r.Code != trtc.CodeParamCheckFailed {
		t.Fatalf("the next player: HTTP %d code %d %q", r.Status, r.Code, r.Message)
	}
}

// Past the configured burst, HTTP-FLV plays from one address get HTTP 429
// with code 14009, and a player at another address is served at once.
func TestFLVRefusesPastTheBurst(t *testing.T) {
	const burst = 3
	s := testways.Start(t, 0, func(s *testways.Ways) {
		s.Live.FLVLimits = limit.Config{PerSecond: 1e-6, Burst: burst} // no refill while the test runs
	})
	play := fmt.Sprintf("%s/live/%d_1_alice_main.flv?userid=viewer&usersig=x", s.URL, open)
	for i := range burst {
		if r := testways.Get(t, http.DefaultClient, play); r.Status == http.StatusTooManyRequests {
			t.Fatalf("play %d of a burst of %d refused", i+1, burst)
		}
	}
	if r := testways.Get(t, http.DefaultClient, play); r.Status != http.StatusTooManyRequests || r.Code != trtc.CodeRateLimited {
		t.Fatalf("past the burst got HTTP %d code %d, want 429 and %d", r.Status, r.Code, trtc.CodeRateLimited)
	}
	if r := testways.Get(t, testways.FromAddress(t, "127.0.0.2"), play); r.Status == http.StatusTooManyRequests {
		t.Fatal("a player at another address was refused")
	}
}

// An RTMP pusher is admitted at the gate before any media: a bad stream
// name is told NetStream.Publish.BadName, credentials or privileges that
// do not admit it NetStream.Publish.Unauthorized, and the room's rules
// NetStream.Publish.Rejected; each with the TRTC code first.
func TestRTMPPushAdmission(t *testing.T) {
	const strict = testways.StrictApp
	s := testways.Start(t, 0, nil)
	conn := &rtmp.ConnInfo{RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1935}, App: "live"}
	pmk := func(user string, p tlssig.Privilege) string {
		return testways.PrivateMapKey(strict, user, tlssig.Room{ID: 70}, p, time.Hour)
	}
	push := func(app uint32, user, query string) (rtmp.Publisher, error) {
		q, err := url.ParseQuery("usersig=" + url.QueryEscape(testways.UserSig(app, user, time.Hour)) + query)
		if err != nil {
			t.Fatal(err)
		}
		return s.Live.Publish(context.Background(), conn, "live", fmt.Sprintf("%d_70_%s_main", app, user), q)
	}
	first, err := push(open, "alice", "&recordid=r1")
	if err != nil {
		t.Fatalf("the first pusher was refused: %v", err)
	}
	defer first.Close()
	for _, tc := range []struct {
		story  string
		app    uint32
		user   string
		query  string
		status string
		code   trtc.Code
	}{
		{"a pusher without a privateMapKey where the app requires one", strict, "bob", "", "NetStream.Publish.Unauthorized", trtc.CodePrivateMapKeyEmpty},
		{"a pusher whose key lacks the send-video bit", strict, "bob", "&privatemapkey=" + pmk("bob", tlssig.PrivAll&^tlssig.PrivSendVideo), "NetStream.Publish.Unauthorized", trtc.CodeNoSendVideoPrivilege},
		{"a pusher whose key lacks the send-audio bit", strict, "bob", "&privatemapkey=" + pmk("bob", tlssig.PrivAll&^tlssig.PrivSendAudio), "NetStream.Publish.Unauthorized", trtc.CodePrivilegeCheckFailed},
		{"a pusher with another recordId than the room's", open, "carol", "&recordid=r2", "NetStream.Publish.Rejected", trtc.CodeParamCheckFailed},
		{"a pusher with a bad pureaudiomode", open, "carol", "&pureaudiomode=7", "NetStream.Publish.BadName", trtc.CodeParamCheckFailed},
		{"a pure-audio pusher whose key lacks only the send-video bit", strict, "dave", "&pureaudiomode=1&privatemapkey=" + pmk("dave", tlssig.PrivAll&^tlssig.PrivSendVideo), "", trtc.CodeOK},
	} {
		p, err := push(tc.app, tc.user, tc.query)
		if tc.status == "" {
			if err != nil {
				t.Errorf("%s: refused: %v", tc.story, err)
			} else {
				p.Close()
			}
			continue
		}
		var refused *rtmp.StatusError
		if !errors.As(err, &refused) || refused.Code != tc.status || !strings.HasPrefix(refused.Description, fmt.Sprintf("%d ", tc.code)) {
			t.Errorf("%s: got %v, want %s with code %d", tc.story, err, tc.status, tc.code)
		}
	}
}

// A pusher that names a 1v1 template (the webrtc-room component adds its
// template to the push URL) creates a room of two: a third pusher is
// refused with the room-full code, as a third /ws member would be.
func TestRTMPPushWithAOneToOneTemplate(t *testing.T) {
	s := testways.Start(t, 0, nil)
	conn := &rtmp.ConnInfo{RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1935}, App: "live"}
	push := func(user string) (rtmp.Publisher, error) {
		q := url.Values{"usersig": {testways.UserSig(open, user, time.Hour)}, "template": {"1v1bigsmall"}}
		return s.Live.Publish(context.Background(), conn, "live", fmt.Sprintf("%d_71_%s_main", open, user), q)
	}
	for _, user := range []string{"alice", "bob"} {
		p, err := push(user)
		if err != nil {
			t.Fatalf("%s was refused: %v", user, err)
		}
		defer p.Close()
	}
	_, err := push("carol")
	var refused *rtmp.StatusError
	if !errors.As(err, &refused) || !strings.HasPrefix(refused.Description, fmt.Sprint(trtc.CodeRoomFull)) {
		t.Fatalf("a third pusher in a 1v1 room: %v, want %d", err, trtc.CodeRoomFull)
	}
}
