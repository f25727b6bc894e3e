package whip_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
	"github.com/trtcd/trtcd/whip"
)

// The test apps: open needs a userSig, strict a privateMapKey too.
const (
	key    = testways.Key
	open   = testways.OpenApp
	strict = testways.StrictApp
)

var waitUntil = testpeer.WaitFor

// startWHIP serves WHIP and WHEP, and nothing else, on a room core with a
// real SFU on loopback; configure, when not nil, may set the server's
// limits and the registry's rules before it starts.
func startWHIP(t *testing.T, configure func(*testways.Core, *whip.Server)) *testways.Core {
	t.Helper()
	c := testways.NewCore(t, 0)
	w := &whip.Server{Gate: c.Gate, SFU: c.SFU, Logger: c.Logger}
	if configure != nil {
		configure(c, w)
	}
	w.Register(c.Mux)
	c.Start()
	return c
}

// del sends DELETE for a session's Location and returns the status.
func del(t *testing.T, s *testways.Core, location string) int {
	t.Helper()
	req, _ := http.NewRequest("DELETE", s.URL+location, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The rules of entry, table-driven: every way in is checked before any
// media flows, and every refusal carries the TRTC code clients know.
func TestWHIPAndWHEPRules(t *testing.T) {
	s := startWHIP(t, nil)
	_, pubOffer, _ := testways.Offer(t, true, testpeer.Options{})
	_, playOffer, _ := testways.Offer(t, false, testpeer.Options{})
	room := tlssig.Room{ID: 1234}
	const sdpType = "application/sdp"
	whip := func(app uint32, roomPath, user, query string) string {
		return fmt.Sprintf("%s/whip/%d/%s/%s%s", s.URL, app, roomPath, user, query)
	}
	whep := func(app uint32, roomPath, publisher, viewer, query string) string {
		return fmt.Sprintf("%s/whep/%d/%s/%s?userId=%s%s", s.URL, app, roomPath, publisher, viewer, query)
	}
	pmkQuery := func(user string, p tlssig.Privilege) string {
		return "?privateMapKey=" + testways.PrivateMapKey(strict, user, room, p, time.Hour)
	}
	garbled := strings.Replace(pubOffer, "m=video", "m=vidxo", 1)
	noMedia := pubOffer[:strings.Index(pubOffer, "m=")]
	av1Only := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 98\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:98 AV1/90000\r\na=sendonly\r\na=mid:0\r\n"

	for _, tc := range []struct {
		story  string
		url    string
		token  string
		ctype  string
		body   string
		status int
		code   trtc.Code
	}{
		{"no userSig", whip(open, "1234", "alice", ""), "", sdpType, pubOffer, 400, trtc.CodeMissingUserSig},
		{"an expired userSig", whip(open, "1234", "alice", ""), testways.UserSig(open, "alice", -time.Hour), sdpType, pubOffer, 401, trtc.CodeUserSigCheckFailed},
		{"a forged userSig", whip(open, "1234", "alice", ""), tlssig.GenUserSig(strings.Repeat("f", 64), open, "alice", time.Hour, time.Now()), sdpType, pubOffer, 401, trtc.CodeUserSigCheckFailed},
		{"bob's userSig used by alice", whip(open, "1234", "alice", ""), testways.UserSig(open, "bob", time.Hour), sdpType, pubOffer, 401, trtc.CodeUserSigCheckFailed},
		{"an app the server does not know", whip(42, "1234", "alice", ""), testways.UserSig(42, "alice", time.Hour), sdpType, pubOffer, 401, trtc.CodeSDKAppIDNotFound},
		{"a room id that is not a number", whip(open, "abc", "alice", ""), testways.UserSig(open, "alice", time.Hour), sdpType, pubOffer, 400, trtc.CodeMissingRoomID},
		{"no privateMapKey where the app requires one", whip(strict, "1234", "alice", ""), testways.UserSig(strict, "alice", time.Hour), sdpType, pubOffer, 401, trtc.CodePrivateMapKeyEmpty},
		{"a privateMapKey for another room", whip(strict, "1235", "alice", pmkQuery("alice", 255)), testways.UserSig(strict, "alice", time.Hour), sdpType, pubOffer, 401, trtc.CodePrivateMapKeyIncorrect},
		{"a numeric room's key for the string room of the same digits", whip(strict, "0", "alice", pmkQuery("alice", 255)+"&strRoomId=1234"), testways.UserSig(strict, "alice", time.Hour), sdpType, pubOffer, 401, trtc.CodePrivateMapKeyIncorrect},
		{"an expired privateMapKey", whip(strict, "1234", "alice", "?privateMapKey="+tlssig.GenPrivateMapKey(key, strict, "alice", time.Hour, time.Now().Add(-2*time.Hour), room, 255)), testways.UserSig(strict, "alice", time.Hour), sdpType, pubOffer, 401, trtc.CodePrivateMapKeyExpired},
		{"a key without the enter bit", whip(strict, "1234", "alice", pmkQuery("alice", tlssig.PrivAll&^tlssig.PrivEnterRoom)), testways.UserSig(strict, "alice", time.Hour), sdpType, pubOffer, 403, trtc.CodeNoEnterRoomPrivilege},
		{"a key without the create bit for a room that does not exist", whip(strict, "1234", "alice", pmkQuery("alice", tlssig.PrivAll&^tlssig.PrivCreateRoom)), testways.UserSig(strict, "alice", time.Hour), sdpType, pubOffer, 403, trtc.CodeNoCreateRoomPrivilege},
		{"a key without the send-video bit", whip(strict, "1234", "alice", pmkQuery("alice", tlssig.PrivAll&^tlssig.PrivSendVideo)), testways.UserSig(strict, "alice", time.Hour), sdpType, pubOffer, 403, trtc.CodeNoSendVideoPrivilege},
		{"a key without the send-audio bit", whip(strict, "1234", "alice", pmkQuery("alice", tlssig.PrivAll&^tlssig.PrivSendAudio)), testways.UserSig(strict, "alice", time.Hour), sdpType, pubOffer, 403, trtc.CodePrivilegeCheckFailed},
		{"minBitrate above maxBitrate", whip(open, "1234", "alice", "?minBitrate=900&maxBitrate=500"), testways.UserSig(open, "alice", time.Hour), sdpType, pubOffer, 400, trtc.CodeParamCheckFailed},
		{"a bad pureAudioPushMod", whip(open, "1234", "alice", "?pureAudioPushMod=7"), testways.UserSig(open, "alice", time.Hour), sdpType, pubOffer, 400, trtc.CodeParamCheckFailed},
		{"a body that is not SDP", whip(open, "1234", "alice", ""), testways.UserSig(open, "alice", time.Hour), "text/plain", pubOffer, 415, trtc.CodeParamCheckFailed},
		{"a 1 MB body", whip(open, "1234", "alice", ""), testways.UserSig(open, "alice", time.Hour), sdpType, strings.Repeat("a", 1<<20), 413, trtc.CodeParamCheckFailed},
		{"garbage SDP", whip(open, "1234", "alice", ""), testways.UserSig(open, "alice", time.Hour), sdpType, garbled, 400, trtc.CodeParamCheckFailed},
		{"SDP without media", whip(open, "1234", "alice", ""), testways.UserSig(open, "alice", time.Hour), sdpType, noMedia, 400, trtc.CodeParamCheckFailed},
		{"an unknown codec only", whip(open, "1234", "alice", ""), testways.UserSig(open, "alice", time.Hour), sdpType, av1Only, 400, trtc.CodeParamCheckFailed},
		{"playing someone who is not publishing", whep(open, "1234", "nobody", "bob", ""), testways.UserSig(open, "bob", time.Hour), sdpType, playOffer, 404, trtc.CodeParamCheckFailed},
		{"a publisher with every bit", whip(strict, "1234", "alice", pmkQuery("alice", 255)), testways.UserSig(strict, "alice", time.Hour), sdpType, pubOffer, 201, trtc.CodeOK},
		{"a viewer without the receive-video bit", whep(strict, "1234", "alice", "bob", "&"+pmkQuery("bob", tlssig.PrivEnterRoom|tlssig.PrivRecvAudio)[1:]), testways.UserSig(strict, "bob", time.Hour), sdpType, playOffer, 403, trtc.CodeNoRecvVideoPrivilege},
		{"a viewer without the receive-audio bit", whep(strict, "1234", "alice", "bob", "&"+pmkQuery("bob", tlssig.PrivEnterRoom|tlssig.PrivRecvVideo)[1:]), testways.UserSig(strict, "bob", time.Hour), sdpType, playOffer, 403, trtc.CodePrivilegeCheckFailed},
		{"a viewer who may receive nothing", whep(strict, "1234", "alice", "bob", "&"+pmkQuery("bob", tlssig.PrivEnterRoom)[1:]), testways.UserSig(strict, "bob", time.Hour), sdpType, playOffer, 403, trtc.CodeNoRecvVideoPrivilege},
		{"the same publisher in the string room \"1234\"", whep(open, "0", "alice", "carol", "&strRoomId=1234"), testways.UserSig(open, "carol", time.Hour), sdpType, playOffer, 404, trtc.CodeParamCheckFailed},
	} {
		r := testways.Post(t, tc.url, tc.token, tc.ctype, tc.body)
		if r.Status != tc.status || r.Code != tc.code {
			t.Errorf("%s: HTTP %d code %d (%s), want HTTP %d code %d", tc.story, r.Status, r.Code, r.Message, tc.status, tc.code)
		}
		if tc.status != 201 && (r.Message == "" || r.Location != "") {
			t.Errorf("%s: a refusal needs a message and no session: %+v", tc.story, r)
		}
		if tc.status == 201 && (!strings.HasPrefix(r.Body, "v=0") || r.Location == "") {
			t.Errorf("%s: no SDP answer or Location: %+v", tc.story, r)
		}
	}
}

// A publisher and a viewer over WHIP and WHEP see media flow; DELETE ends
// the publisher's session and frees its room.
func TestWHIPPublishWHEPPlayAndDelete(t *testing.T) {
	s := startWHIP(t, nil)
	pub, offer, src := testways.Offer(t, true, testpeer.Options{})
	room := tlssig.Room{ID: 777}
	r := testways.Post(t, fmt.Sprintf("%s/whip/%d/777/alice?maxBitrate=700&privateMapKey=%s", s.URL, strict, testways.PrivateMapKey(strict, "alice", room, 255, time.Hour)),
		testways.UserSig(strict, "alice", time.Hour), "application/sdp", offer)
	if r.Status != 201 {
		t.Fatalf("WHIP: %+v", r)
	}
	if !strings.Contains(r.Body, "b=AS:700") || !strings.Contains(r.Body, "x-google-max-bitrate=700") {
		t.Fatalf("the answer does not carry the bitrate cap:\n%s", r.Body)
	}
	pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.Body})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Run(ctx)

	viewer, playOffer, _ := testways.Offer(t, false, testpeer.Options{})
	frames := testways.CountFrames(viewer)
	deadline := time.Now().Add(5 * time.Second)
	var w testways.Reply
	for { // alice's tracks arrive once her connection is up
		// Bob's key is an audience member's (42: enter, receive audio and
		// video): no create bit, so he can only join a room that exists.
		w = testways.Post(t, fmt.Sprintf("%s/whep/%d/777/alice?userId=bob&privateMapKey=%s", s.URL, strict, testways.PrivateMapKey(strict, "bob", room, 42, time.Hour)),
			testways.UserSig(strict, "bob", time.Hour), "application/sdp", playOffer)
		if w.Status != 404 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if w.Status != 201 {
		t.Fatalf("WHEP: %+v", w)
	}
	viewer.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: w.Body})
	waitUntil(t, "video frames at the viewer", 8*time.Second, func() bool { return frames.Load() > 10 })

	if code := del(t, s, r.Location); code != 200 {
		t.Fatalf("DELETE %s: %d", r.Location, code)
	}
	if code := del(t, s, r.Location); code != 404 {
		t.Fatalf("second DELETE: %d, want 404", code)
	}
	if code := del(t, s, w.Location); code != 200 {
		t.Fatalf("DELETE viewer: %d", code)
	}
	waitUntil(t, "the room to close", 5*time.Second, func() bool { return !s.SFU.HasRoom(trtc.RoomKey(strict, room)) })
}

// A publisher whose network disappears without DELETE is freed by the ICE
// timeout: its session, room and goroutines go away.
func TestVanishedClientIsFreed(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the ICE failure timeout")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := startWHIP(t, nil)
	var gone atomic.Bool
	pub, offer, src := testways.Offer(t, true, testpeer.Options{Vanish: &gone})
	r := testways.Post(t, fmt.Sprintf("%s/whip/%d/888/alice", s.URL, open), testways.UserSig(open, "alice", time.Hour), "application/sdp", offer)
	if r.Status != 201 {
		t.Fatalf("WHIP: %+v", r)
	}
	pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.Body})
	ctx, cancel := context.WithCancel(context.Background())
	go src.Run(ctx)
	room := trtc.RoomKey(open, tlssig.Room{ID: 888})
	waitUntil(t, "alice connected", 5*time.Second, func() bool {
		return s.SFU.HasRoom(room) && pub.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	gone.Store(true) // the network goes away; no DELETE, no DTLS close
	// Freed: the room is gone, and the session too (its DELETE is 404).
	waitUntil(t, "the server to free alice", 30*time.Second, func() bool {
		return !s.SFU.HasRoom(room) && del(t, s, r.Location) == http.StatusNotFound
	})
	cancel()
	pub.Close()
	s.Close()
	s.SFU.Close()
	s.Rooms.Close()
}

// A school behind one NAT address starts 200 rooms at once: under the
// default limits none of the 200 offers is refused by the per-address
// limiter; each reaches admission (here refused as a bad offer, 82).
func TestWHIPAdmitsTwoHundredOffersFromOneAddress(t *testing.T) {
	s := startWHIP(t, nil)
	const offers = 200
	codes := make([]testways.Reply, offers)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range offers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("pupil%d", i)
			codes[i] = testways.Post(t, fmt.Sprintf("%s/whip/%d/%d/%s", s.URL, open, 5000+i, user), testways.UserSig(open, user, time.Hour), "application/sdp", "v=0")
		}()
	}
	wg.Wait()
	t.Logf("%d offers from one address answered in %s", offers, time.Since(start).Round(time.Millisecond))
	for i, r := range codes {
		if r.Status == http.StatusTooManyRequests || r.Code != trtc.CodeParamCheckFailed {
			t.Fatalf("offer %d: HTTP %d code %d %q, want admission's answer (400, 82)", i, r.Status, r.Code, r.Message)
		}
	}
}

// Past the configured burst, WHIP and WHEP offers from one address get
// HTTP 429 with code 14009, and a client at another address is served at
// once: a WHIP publisher gets its answer.
func TestWHIPAndWHEPRefusePastTheBurst(t *testing.T) {
	const burst = 3
	tight := limit.Config{PerSecond: 1e-6, Burst: burst} // no refill while the test runs
	s := startWHIP(t, func(_ *testways.Core, w *whip.Server) { w.WHIPLimits, w.WHEPLimits = tight, tight })
	offer := func(c *http.Client, url string) testways.Reply {
		return testways.PostFrom(t, c, url, "x", "application/sdp", "v=0")
	}
	routes := map[string]string{
		"WHIP": fmt.Sprintf("%s/whip/%d/1/alice", s.URL, open),
		"WHEP": fmt.Sprintf("%s/whep/%d/1/alice?userId=viewer", s.URL, open),
	}
	for name, url := range routes {
		for i := range burst {
			if r := offer(http.DefaultClient, url); r.Status == http.StatusTooManyRequests {
				t.Fatalf("%s: request %d of a burst of %d refused", name, i+1, burst)
			}
		}
		if r := offer(http.DefaultClient, url); r.Status != http.StatusTooManyRequests || r.Code != trtc.CodeRateLimited {
			t.Fatalf("%s: past the burst got HTTP %d code %d, want 429 and %d", name, r.Status, r.Code, trtc.CodeRateLimited)
		}
		if r := offer(testways.FromAddress(t, "127.0.0.2"), url); r.Status == http.StatusTooManyRequests {
			t.Fatalf("%s: a client at another address was refused", name)
		}
	}
	pc, sdp, _ := testways.Offer(t, true, testpeer.Options{})
	defer pc.Close()
	r := testways.PostFrom(t, testways.FromAddress(t, "127.0.0.3"), fmt.Sprintf("%s/whip/%d/77/carol", s.URL, open),
		testways.UserSig(open, "carol", time.Hour), "application/sdp", sdp)
	if r.Status != http.StatusCreated {
		t.Fatalf("a good publisher at another address: HTTP %d code %d %s", r.Status, r.Code, r.Message)
	}
}

// WHEP viewer sessions count toward the viewer's ViewersPerUser across
// rooms: past it the next is refused with 102052; after a DELETE a new one
// is admitted.
func TestWHEPViewerSessionsPerUser(t *testing.T) {
	s := startWHIP(t, func(c *testways.Core, _ *whip.Server) { c.Rooms.ViewersPerUser = 2 })
	for _, room := range []int{61, 62} {
		testpeer.PublishWHIP(t, fmt.Sprintf("%s/whip/%d/%d/alice%d", s.URL, open, room, room), testways.UserSig(open, fmt.Sprintf("alice%d", room), time.Hour), 300)
	}
	watch := func(room int) testways.Reply {
		pc, offer, _ := testways.Offer(t, false, testpeer.Options{})
		t.Cleanup(func() { pc.Close() })
		return testways.Post(t, fmt.Sprintf("%s/whep/%d/%d/alice%d?userId=viewer", s.URL, open, room, room), testways.UserSig(open, "viewer", time.Hour), "application/sdp", offer)
	}
	first := watch(61)
	if first.Status != http.StatusCreated {
		t.Fatalf("first viewer session: HTTP %d code %d %s", first.Status, first.Code, first.Message)
	}
	if r := watch(62); r.Status != http.StatusCreated {
		t.Fatalf("second viewer session: HTTP %d code %d %s", r.Status, r.Code, r.Message)
	}
	if r := watch(62); r.Code != trtc.CodeRoomFull {
		t.Fatalf("third viewer session: HTTP %d code %d %s, want %d", r.Status, r.Code, r.Message, trtc.CodeRoomFull)
	}
	if code := del(t, s, first.Location); code != http.StatusOK {
		t.Fatalf("DELETE %s: %d", first.Location, code)
	}
	waitUntil(t, "the deleted session's slot given back", 10*time.Second, func() bool { return s.Rooms.ViewerSessions(open, "viewer") == 1 })
	if r := watch(61); r.Status != http.StatusCreated {
		t.Fatalf("a viewer session after one ended: HTTP %d code %d %s", r.Status, r.Code, r.Message)
	}
}
