package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

var httpsListening = regexp.MustCompile(`msg="https listening" addr=(\S+)`)

// roomSigBody is what jsonvideoapp answers in RspBody.
type roomSigBody struct {
	PushURL string `json:"PushUrl"`
	PlayURL string `json:"PlayUrl"`
	FLVURL  string `json:"FlvUrl"`
}

// A mini program may reach only https:// and wss:// addresses of the
// domains configured for it (WeChat's domain rules; <live-pusher> and
// <live-player> are not covered). `trtcd serve --https` serves it all on
// the one TLS listener: jsonvideoapp over https:// answers https:// FLV
// URLs on that listener; /ws over wss:// follows a room and hears the RTMP
// pusher enter; an https:// FLV player decodes the pusher's video.
func TestHTTPSServesTheMiniProgram(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed")
	}
	const app, room = 1400000001, 77
	s := startServe(t, "--data", t.TempDir(), "--app", fmt.Sprintf("%d:%s", app, cliKey), "--https", "127.0.0.1:0")
	var tlsAddr string
	for deadline := time.Now().Add(30 * time.Second); tlsAddr == ""; time.Sleep(50 * time.Millisecond) {
		if m := httpsListening.FindStringSubmatch(s.stderr.String()); m != nil {
			tlsAddr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no https listener in the log:\n%s", s.stderr)
		}
	}
	insecure := &tls.Config{InsecureSkipVerify: true} // the self-signed development certificate
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: insecure}, Timeout: 10 * time.Second}
	creds := func(user string) (sig, pmk string) {
		now := time.Now().Add(-time.Minute)
		return tlssig.GenUserSig(cliKey, app, user, time.Hour, now),
			tlssig.GenPrivateMapKey(cliKey, app, user, time.Hour, now, tlssig.Room{ID: room}, tlssig.PrivAll)
	}
	roomSig := func(user string) roomSigBody {
		t.Helper()
		sig, pmk := creds(user)
		body := fmt.Sprintf(`{"ReqHead":{"Cmd":1,"SeqNo":1,"BusType":7,"GroupId":%d},"ReqBody":{"PrivMapEncrypt":%q,"TerminalType":1,"FromType":3}}`, room, pmk)
		resp, err := client.Post(fmt.Sprintf("https://%s/v4/openim/jsonvideoapp?sdkappid=%d&identifier=%s&usersig=%s&random=1&contenttype=json", tlsAddr, app, user, sig),
			"application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r struct {
			ErrorCode int
			ErrorInfo string
			RspBody   *roomSigBody
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.ErrorCode != 0 || r.RspBody == nil {
			t.Fatalf("jsonvideoapp over https for %s: %+v (%v)", user, r, err)
		}
		return *r.RspBody
	}
	alice, bob := roomSig("alice"), roomSig("bob")
	if !strings.HasPrefix(bob.FLVURL, "https://"+tlsAddr+"/live/") || !strings.HasPrefix(alice.PushURL, "rtmp://127.0.0.1:") {
		t.Fatalf("jsonvideoapp over https answered FlvUrl %q and PushUrl %q; want https://%s/live/… and rtmp://…", bob.FLVURL, alice.PushURL, tlsAddr)
	}

	dialer := websocket.Dialer{TLSClientConfig: insecure, HandshakeTimeout: 10 * time.Second}
	follower, _, err := dialer.Dial("wss://"+tlsAddr+"/ws", nil)
	if err != nil {
		t.Fatalf("wss:// /ws: %v", err)
	}
	defer follower.Close()
	sig, pmk := creds("bob")
	wsCall(t, follower, 1, "follow", map[string]any{"sdkAppId": app, "userId": "bob", "userSig": sig, "roomId": room, "privateMapKey": pmk})

	ctx, cancel := context.WithCancel(context.Background())
	push := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-v", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "60", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-profile:v", "baseline", "-g", "15",
		"-c:a", "aac", "-f", "flv", alice.PushURL)
	if err := push.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); push.Wait() }()
	follower.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		var f struct {
			Type, Event string
			Data        map[string]any
		}
		if err := follower.ReadJSON(&f); err != nil {
			t.Fatalf("the wss:// follower did not hear alice's pusher enter: %v", err)
		}
		if f.Type == "event" && f.Event == "member-join" && f.Data["userId"] == "alice" {
			break
		}
	}

	// Ten decoded frames, scaled to 32×24 gray: 7680 bytes.
	play := strings.ReplaceAll(bob.FLVURL, "{userId}", "alice")
	pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer pcancel()
	var out, errs bytes.Buffer
	player := exec.CommandContext(pctx, ffmpeg, "-nostdin", "-v", "error", "-tls_verify", "0", "-i", play,
		"-frames:v", "10", "-vf", "scale=32:24", "-pix_fmt", "gray", "-f", "rawvideo", "-")
	player.Stdout, player.Stderr = &out, &errs
	if err := player.Run(); err != nil || out.Len() != 10*32*24 {
		t.Fatalf("an https:// FLV player of alice decoded %d bytes (%v): %s", out.Len(), err, errs.String())
	}
}
