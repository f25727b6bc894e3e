package trtc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// whipServer is the signalling surface (WHIP, WHEP, HTTP-FLV, /ws, the
// REST API) on a real SFU, on loopback.
type whipServer struct {
	*httptest.Server
	sfu   *sfu.SFU
	whip  *WHIP
	live  *Live
	ws    *WebSocket
	rooms *Registry
}

// startWHIP runs the whole signalling surface with the default limits.
func startWHIP(t *testing.T) *whipServer { return startSignaling(t, 0, DefaultWSLimits) }

// startSignaling is startWHIP with a heartbeat timeout (0: the default) and
// WebSocket limits.
func startSignaling(t *testing.T, heartbeat time.Duration, limits WSLimits) *whipServer {
	return startServer(t, heartbeat, func(s *whipServer) { s.ws.Limits = limits })
}

// startServer runs the signalling surface; configure may set its parts'
// limits, and the http.Server's (s.Config), before it starts.
func startServer(t *testing.T, heartbeat time.Duration, configure func(*whipServer)) *whipServer {
	t.Helper()
	rooms := NewRegistry(0, heartbeat)
	media, err := sfu.New(sfu.Config{
		Transport: sfu.TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true},
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnTrack: func(room, user string, kind sfu.Kind, published bool) {
			rooms.Streams(room, user, kind.String(), published)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	apps := testApps(t)
	mux := http.NewServeMux()
	s := &whipServer{Server: httptest.NewUnstartedServer(mux), sfu: media, rooms: rooms,
		whip: &WHIP{Apps: apps, Rooms: rooms, SFU: media},
		live: &Live{Apps: apps, Rooms: rooms, SFU: media},
		ws:   &WebSocket{Apps: apps, Rooms: rooms, SFU: media}}
	if configure != nil {
		configure(s)
	}
	s.whip.Register(mux)
	s.live.Register(mux)
	mux.Handle("GET /ws", s.ws)
	(&RoomAPI{Apps: apps, Rooms: rooms}).Register(mux)
	s.Start()
	t.Cleanup(func() { s.Close(); media.Close(); rooms.Close() })
	return s
}

// clientOffer makes a real pion offer: sending audio+video (publish) or
// receiving them (play).
func clientOffer(t *testing.T, send bool, o testpeer.Options) (*webrtc.PeerConnection, string, *testpeer.Source) {
	t.Helper()
	pc := testpeer.NewPeer(t, o)
	var src *testpeer.Source
	var err error
	if send {
		src, err = testpeer.NewSource("s", 600, 25)
		if err != nil {
			t.Fatal(err)
		}
		err = src.AddTo(pc)
	} else {
		err = testpeer.ReceiveAudioVideo(pc)
	}
	if err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(pc)
	pc.SetLocalDescription(offer)
	<-done
	return pc, pc.LocalDescription().SDP, src
}

type reply struct {
	status   int
	code     Code
	message  string
	body     string
	location string
}

func post(t *testing.T, url, token, contentType, body string) reply {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, body: string(b), location: resp.Header.Get("Location")}
	if resp.Header.Get("Content-Type") == "application/json" {
		var e struct {
			Code    Code   `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("error body is not JSON: %s", b)
		}
		r.code, r.message = e.Code, e.Message
	}
	return r
}

func sigFor(app uint32, user string, expire time.Duration) string {
	return tlssig.GenUserSig(key, app, user, expire, time.Now().Add(-time.Minute))
}

func pmkFor(app uint32, user string, room tlssig.Room, priv tlssig.Privilege, expire time.Duration) string {
	return tlssig.GenPrivateMapKey(key, app, user, expire, time.Now(), room, priv)
}

// The rules of entry, table-driven: every way in is checked before any
// media flows, and every refusal carries the TRTC code clients know.
func TestWHIPAndWHEPRules(t *testing.T) {
	s := startWHIP(t)
	_, pubOffer, _ := clientOffer(t, true, testpeer.Options{})
	_, playOffer, _ := clientOffer(t, false, testpeer.Options{})
	room := tlssig.Room{ID: 1234}
	const sdpType = "application/sdp"
	whip := func(app uint32, roomPath, user, query string) string {
		return fmt.Sprintf("%s/whip/%d/%s/%s%s", s.URL, app, roomPath, user, query)
	}
	whep := func(app uint32, roomPath, publisher, viewer, query string) string {
		return fmt.Sprintf("%s/whep/%d/%s/%s?userId=%s%s", s.URL, app, roomPath, publisher, viewer, query)
	}
	pmkQuery := func(user string, p tlssig.Privilege) string {
		return "?privateMapKey=" + pmkFor(strict, user, room, p, time.Hour)
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
		code   Code
	}{
		{"no userSig", whip(open, "1234", "alice", ""), "", sdpType, pubOffer, 400, CodeMissingUserSig},
		{"an expired userSig", whip(open, "1234", "alice", ""), sigFor(open, "alice", -time.Hour), sdpType, pubOffer, 401, CodeUserSigCheckFailed},
		{"a forged userSig", whip(open, "1234", "alice", ""), tlssig.GenUserSig(strings.Repeat("f", 64), open, "alice", time.Hour, time.Now()), sdpType, pubOffer, 401, CodeUserSigCheckFailed},
		{"bob's userSig used by alice", whip(open, "1234", "alice", ""), sigFor(open, "bob", time.Hour), sdpType, pubOffer, 401, CodeUserSigCheckFailed},
		{"an app the server does not know", whip(42, "1234", "alice", ""), sigFor(42, "alice", time.Hour), sdpType, pubOffer, 401, CodeSDKAppIDNotFound},
		{"a room id that is not a number", whip(open, "abc", "alice", ""), sigFor(open, "alice", time.Hour), sdpType, pubOffer, 400, CodeMissingRoomID},
		{"no privateMapKey where the app requires one", whip(strict, "1234", "alice", ""), sigFor(strict, "alice", time.Hour), sdpType, pubOffer, 401, CodePrivateMapKeyEmpty},
		{"a privateMapKey for another room", whip(strict, "1235", "alice", pmkQuery("alice", 255)), sigFor(strict, "alice", time.Hour), sdpType, pubOffer, 401, CodePrivateMapKeyIncorrect},
		{"a numeric room's key for the string room of the same digits", whip(strict, "0", "alice", pmkQuery("alice", 255)+"&strRoomId=1234"), sigFor(strict, "alice", time.Hour), sdpType, pubOffer, 401, CodePrivateMapKeyIncorrect},
		{"an expired privateMapKey", whip(strict, "1234", "alice", "?privateMapKey="+tlssig.GenPrivateMapKey(key, strict, "alice", time.Hour, time.Now().Add(-2*time.Hour), room, 255)), sigFor(strict, "alice", time.Hour), sdpType, pubOffer, 401, CodePrivateMapKeyExpired},
		{"a key without the enter bit", whip(strict, "1234", "alice", pmkQuery("alice", tlssig.PrivAll&^tlssig.PrivEnterRoom)), sigFor(strict, "alice", time.Hour), sdpType, pubOffer, 403, CodeNoEnterRoomPrivilege},
		{"a key without the create bit for a room that does not exist", whip(strict, "1234", "alice", pmkQuery("alice", tlssig.PrivAll&^tlssig.PrivCreateRoom)), sigFor(strict, "alice", time.Hour), sdpType, pubOffer, 403, CodeNoCreateRoomPrivilege},
		{"a key without the send-video bit", whip(strict, "1234", "alice", pmkQuery("alice", tlssig.PrivAll&^tlssig.PrivSendVideo)), sigFor(strict, "alice", time.Hour), sdpType, pubOffer, 403, CodeNoSendVideoPrivilege},
		{"a key without the send-audio bit", whip(strict, "1234", "alice", pmkQuery("alice", tlssig.PrivAll&^tlssig.PrivSendAudio)), sigFor(strict, "alice", time.Hour), sdpType, pubOffer, 403, CodePrivilegeCheckFailed},
		{"minBitrate above maxBitrate", whip(open, "1234", "alice", "?minBitrate=900&maxBitrate=500"), sigFor(open, "alice", time.Hour), sdpType, pubOffer, 400, CodeParamCheckFailed},
		{"a bad pureAudioPushMod", whip(open, "1234", "alice", "?pureAudioPushMod=7"), sigFor(open, "alice", time.Hour), sdpType, pubOffer, 400, CodeParamCheckFailed},
		{"a body that is not SDP", whip(open, "1234", "alice", ""), sigFor(open, "alice", time.Hour), "text/plain", pubOffer, 415, CodeParamCheckFailed},
		{"a 1 MB body", whip(open, "1234", "alice", ""), sigFor(open, "alice", time.Hour), sdpType, strings.Repeat("a", 1<<20), 413, CodeParamCheckFailed},
		{"garbage SDP", whip(open, "1234", "alice", ""), sigFor(open, "alice", time.Hour), sdpType, garbled, 400, CodeParamCheckFailed},
		{"SDP without media", whip(open, "1234", "alice", ""), sigFor(open, "alice", time.Hour), sdpType, noMedia, 400, CodeParamCheckFailed},
		{"an unknown codec only", whip(open, "1234", "alice", ""), sigFor(open, "alice", time.Hour), sdpType, av1Only, 400, CodeParamCheckFailed},
		{"playing someone who is not publishing", whep(open, "1234", "nobody", "bob", ""), sigFor(open, "bob", time.Hour), sdpType, playOffer, 404, CodeParamCheckFailed},
		{"a publisher with every bit", whip(strict, "1234", "alice", pmkQuery("alice", 255)), sigFor(strict, "alice", time.Hour), sdpType, pubOffer, 201, CodeOK},
		{"a viewer without the receive-video bit", whep(strict, "1234", "alice", "bob", "&"+pmkQuery("bob", tlssig.PrivEnterRoom|tlssig.PrivRecvAudio)[1:]), sigFor(strict, "bob", time.Hour), sdpType, playOffer, 403, CodeNoRecvVideoPrivilege},
		{"a viewer without the receive-audio bit", whep(strict, "1234", "alice", "bob", "&"+pmkQuery("bob", tlssig.PrivEnterRoom|tlssig.PrivRecvVideo)[1:]), sigFor(strict, "bob", time.Hour), sdpType, playOffer, 403, CodePrivilegeCheckFailed},
		{"the same publisher in the string room \"1234\"", whep(open, "0", "alice", "carol", "&strRoomId=1234"), sigFor(open, "carol", time.Hour), sdpType, playOffer, 404, CodeParamCheckFailed},
	} {
		r := post(t, tc.url, tc.token, tc.ctype, tc.body)
		if r.status != tc.status || r.code != tc.code {
			t.Errorf("%s: HTTP %d code %d (%s), want HTTP %d code %d", tc.story, r.status, r.code, r.message, tc.status, tc.code)
		}
		if tc.status != 201 && (r.message == "" || r.location != "") {
			t.Errorf("%s: a refusal needs a message and no session: %+v", tc.story, r)
		}
		if tc.status == 201 && (!strings.HasPrefix(r.body, "v=0") || r.location == "") {
			t.Errorf("%s: no SDP answer or Location: %+v", tc.story, r)
		}
	}
}

// A publisher and a viewer over WHIP and WHEP see media flow; DELETE ends
// the publisher's session and frees its room.
func TestWHIPPublishWHEPPlayAndDelete(t *testing.T) {
	s := startWHIP(t)
	pub, offer, src := clientOffer(t, true, testpeer.Options{})
	room := tlssig.Room{ID: 777}
	r := post(t, fmt.Sprintf("%s/whip/%d/777/alice?maxBitrate=700&privateMapKey=%s", s.URL, strict, pmkFor(strict, "alice", room, 255, time.Hour)),
		sigFor(strict, "alice", time.Hour), "application/sdp", offer)
	if r.status != 201 {
		t.Fatalf("WHIP: %+v", r)
	}
	if !strings.Contains(r.body, "b=AS:700") || !strings.Contains(r.body, "x-google-max-bitrate=700") {
		t.Fatalf("the answer does not carry the bitrate cap:\n%s", r.body)
	}
	pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.body})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Run(ctx)

	viewer, playOffer, _ := clientOffer(t, false, testpeer.Options{})
	frames := countFrames(viewer)
	deadline := time.Now().Add(5 * time.Second)
	var w reply
	for { // alice's tracks arrive once her connection is up
		// Bob's key is an audience member's (42: enter, receive audio and
		// video): no create bit, so he can only join a room that exists.
		w = post(t, fmt.Sprintf("%s/whep/%d/777/alice?userId=bob&privateMapKey=%s", s.URL, strict, pmkFor(strict, "bob", room, 42, time.Hour)),
			sigFor(strict, "bob", time.Hour), "application/sdp", playOffer)
		if w.status != 404 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if w.status != 201 {
		t.Fatalf("WHEP: %+v", w)
	}
	viewer.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: w.body})
	waitUntil(t, "video frames at the viewer", 8*time.Second, func() bool { return frames.Load() > 10 })

	del := func(loc string) int {
		req, _ := http.NewRequest("DELETE", s.URL+loc, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := del(r.location); code != 200 {
		t.Fatalf("DELETE %s: %d", r.location, code)
	}
	if code := del(r.location); code != 404 {
		t.Fatalf("second DELETE: %d, want 404", code)
	}
	if code := del(w.location); code != 200 {
		t.Fatalf("DELETE viewer: %d", code)
	}
	waitUntil(t, "the room to close", 5*time.Second, func() bool { return !s.sfu.HasRoom(RoomKey(strict, room)) })
}

// A publisher whose network disappears without DELETE is freed by the ICE
// timeout: its session, room and goroutines go away.
func TestVanishedClientIsFreed(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the ICE failure timeout")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := startWHIP(t)
	var gone atomic.Bool
	pub, offer, src := clientOffer(t, true, testpeer.Options{Vanish: &gone})
	r := post(t, fmt.Sprintf("%s/whip/%d/888/alice", s.URL, open), sigFor(open, "alice", time.Hour), "application/sdp", offer)
	if r.status != 201 {
		t.Fatalf("WHIP: %+v", r)
	}
	pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.body})
	ctx, cancel := context.WithCancel(context.Background())
	go src.Run(ctx)
	room := RoomKey(open, tlssig.Room{ID: 888})
	waitUntil(t, "alice connected", 5*time.Second, func() bool {
		return s.sfu.HasRoom(room) && pub.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	gone.Store(true) // the network goes away; no DELETE, no DTLS close
	waitUntil(t, "the server to free alice", 30*time.Second, func() bool {
		s.whip.mu.Lock()
		defer s.whip.mu.Unlock()
		return !s.sfu.HasRoom(room) && len(s.whip.sessions) == 0
	})
	cancel()
	pub.Close()
	s.Close()
	s.sfu.Close()
	s.rooms.Close()
}

var waitUntil = testpeer.WaitFor

// A school behind one NAT address starts 200 rooms at once: under the
// default limits none of the 200 offers is refused by the per-address
// limiter; each reaches admission (here refused as a bad offer, 82).
func TestWHIPAdmitsTwoHundredOffersFromOneAddress(t *testing.T) {
	s := startWHIP(t)
	const offers = 200
	codes := make([]reply, offers)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range offers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("pupil%d", i)
			codes[i] = post(t, fmt.Sprintf("%s/whip/%d/%d/%s", s.URL, open, 5000+i, user), sigFor(open, user, time.Hour), "application/sdp", "v=0")
		}()
	}
	wg.Wait()
	t.Logf("%d offers from one address answered in %s", offers, time.Since(start).Round(time.Millisecond))
	for i, r := range codes {
		if r.status == http.StatusTooManyRequests || r.code != CodeParamCheckFailed {
			t.Fatalf("offer %d: HTTP %d code %d %q, want admission's answer (400, 82)", i, r.status, r.code, r.message)
		}
	}
}

// Past the configured burst, WHIP, WHEP and HTTP-FLV requests from one
// address get HTTP 429 with code 14009, and a client at another address is
// served at once: a WHIP publisher gets its answer.
func TestWHIPWHEPAndFLVRefusePastTheBurst(t *testing.T) {
	const burst = 3
	tight := limit.Config{PerSecond: 1e-6, Burst: burst} // no refill while the test runs
	s := startServer(t, 0, func(s *whipServer) {
		s.whip.WHIPLimits, s.whip.WHEPLimits, s.live.FLVLimits = tight, tight, tight
	})
	routes := map[string]func(c *http.Client) reply{
		"WHIP": func(c *http.Client) reply {
			return postFrom(t, c, fmt.Sprintf("%s/whip/%d/1/alice", s.URL, open), "x", "v=0")
		},
		"WHEP": func(c *http.Client) reply {
			return postFrom(t, c, fmt.Sprintf("%s/whep/%d/1/alice?userId=viewer", s.URL, open), "x", "v=0")
		},
		"FLV": func(c *http.Client) reply {
			return getFrom(t, c, fmt.Sprintf("%s/live/%d_1_alice_main.flv?userid=viewer&usersig=x", s.URL, open))
		},
	}
	for name, request := range routes {
		for i := range burst {
			if r := request(http.DefaultClient); r.status == http.StatusTooManyRequests {
				t.Fatalf("%s: request %d of a burst of %d refused", name, i+1, burst)
			}
		}
		if r := request(http.DefaultClient); r.status != http.StatusTooManyRequests || r.code != CodeRateLimited {
			t.Fatalf("%s: past the burst got HTTP %d code %d, want 429 and %d", name, r.status, r.code, CodeRateLimited)
		}
		if r := request(fromAddress(t, "127.0.0.2")); r.status == http.StatusTooManyRequests {
			t.Fatalf("%s: a client at another address was refused", name)
		}
	}
	pc, offer, _ := clientOffer(t, true, testpeer.Options{})
	defer pc.Close()
	r := postFrom(t, fromAddress(t, "127.0.0.3"), fmt.Sprintf("%s/whip/%d/77/carol", s.URL, open), sigFor(open, "carol", time.Hour), offer)
	if r.status != http.StatusCreated {
		t.Fatalf("a good publisher at another address: HTTP %d code %d %s", r.status, r.code, r.message)
	}
}

// fromAddress is a client whose connections come from a given loopback
// address, another NAT address as far as the server can tell.
func fromAddress(t *testing.T, ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func postFrom(t *testing.T, c *http.Client, url, token, sdp string) reply {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(sdp))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/sdp")
	return do(t, c, req)
}

func getFrom(t *testing.T, c *http.Client, url string) reply {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	return do(t, c, req)
}

// do sends a request and reads the reply: its status, and the TRTC code of
// a JSON body.
func do(t *testing.T, c *http.Client, req *http.Request) reply {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, body: string(b), location: resp.Header.Get("Location")}
	var e struct {
		Code    Code   `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &e) == nil {
		r.code, r.message = e.Code, e.Message
	}
	return r
}

// countFrames counts the video frames (marker bits) a client receives.
func countFrames(pc *webrtc.PeerConnection) *atomic.Int64 {
	var frames atomic.Int64
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if tr.Kind() == webrtc.RTPCodecTypeVideo && p.Marker {
				frames.Add(1)
			}
		}
	})
	return &frames
}

// WHEP viewer sessions count toward the viewer's ViewersPerUser across
// rooms: past it the next is refused with 102052; after a DELETE a new one
// is admitted.
func TestWHEPViewerSessionsPerUser(t *testing.T) {
	s := startServer(t, 0, func(s *whipServer) { s.rooms.ViewersPerUser = 2 })
	for _, room := range []int{61, 62} {
		testpeer.PublishWHIP(t, fmt.Sprintf("%s/whip/%d/%d/alice%d", s.URL, open, room, room), sigFor(open, fmt.Sprintf("alice%d", room), time.Hour), 300)
	}
	watch := func(room int) reply {
		pc, offer, _ := clientOffer(t, false, testpeer.Options{})
		t.Cleanup(func() { pc.Close() })
		return post(t, fmt.Sprintf("%s/whep/%d/%d/alice%d?userId=viewer", s.URL, open, room, room), sigFor(open, "viewer", time.Hour), "application/sdp", offer)
	}
	first := watch(61)
	if first.status != http.StatusCreated {
		t.Fatalf("first viewer session: HTTP %d code %d %s", first.status, first.code, first.message)
	}
	if r := watch(62); r.status != http.StatusCreated {
		t.Fatalf("second viewer session: HTTP %d code %d %s", r.status, r.code, r.message)
	}
	if r := watch(62); r.code != CodeRoomFull {
		t.Fatalf("third viewer session: HTTP %d code %d %s, want %d", r.status, r.code, r.message, CodeRoomFull)
	}
	req, _ := http.NewRequest("DELETE", s.URL+first.location, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE %s: %v %v", first.location, resp, err)
	}
	waitUntil(t, "the deleted session's slot given back", 10*time.Second, func() bool { return s.rooms.viewerCount("viewer")() == 1 })
	if r := watch(61); r.status != http.StatusCreated {
		t.Fatalf("a viewer session after one ended: HTTP %d code %d %s", r.status, r.code, r.message)
	}
}
