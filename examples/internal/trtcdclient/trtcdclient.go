// Package trtcdclient holds what the examples share, in the way pion's
// examples share examples/internal/signal: the flags every media example
// takes, the userSig (given, signed with the app's key, or asked of a
// development server), a loopback-only pion API, and the WHIP/WHEP offer
// POST and session DELETE. It is internal to the examples: to copy an
// example into your own module, copy this file along with it.
package trtcdclient

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

// Flags are the flags the media examples share: the server, the
// credentials, the user and the room.
type Flags struct {
	Server  string // -server: trtcd's HTTP base URL
	App     uint   // -app: the sdkAppId; 0 asks a development server
	Key     string // -key: the app's secret key, to sign userSigs
	UserSig string // -usersig: a ready userSig for -user
	User    string // -user
	Room    uint   // -room: a numeric roomId
	StrRoom string // -strroom: a string room id, instead of -room
}

// DefineFlags defines -server, -app, -key, -usersig, -user, -room and
// -strroom on flag.CommandLine; user is -user's default and userHelp its
// description. Call it before flag.Parse.
func DefineFlags(user, userHelp string) *Flags {
	f := &Flags{}
	flag.StringVar(&f.Server, "server", "http://127.0.0.1:8080", "trtcd's HTTP base URL")
	flag.UintVar(&f.App, "app", 0, "sdkAppId (0: ask a development server's /dev/usersig)")
	flag.StringVar(&f.Key, "key", "", "the app's secret key, to sign the userSig (printed by trtcd serve)")
	flag.StringVar(&f.UserSig, "usersig", "", "a ready userSig for -user (instead of -key)")
	flag.StringVar(&f.User, "user", user, userHelp)
	flag.UintVar(&f.Room, "room", 1234, "numeric roomId")
	flag.StringVar(&f.StrRoom, "strroom", "", "string room id (instead of -room)")
	return f
}

// Credentials resolves the sdkAppId and -user's userSig, and logs where a
// userSig from /dev/usersig came from.
func (f *Flags) Credentials() (uint32, string, error) {
	return Credentials(f.Server, uint32(f.App), f.Key, f.UserSig, f.User, log.Printf)
}

// RoomName is the room as a log line names it: 1234, or "name" quoted.
func (f *Flags) RoomName() string {
	if f.StrRoom != "" {
		return fmt.Sprintf("%q", f.StrRoom)
	}
	return fmt.Sprint(f.Room)
}

// RoomArgs are the flags that name the same room on another example's
// command line, with a leading space.
func (f *Flags) RoomArgs() string {
	if f.StrRoom != "" {
		return fmt.Sprintf(" -strroom %q", f.StrRoom)
	}
	return fmt.Sprintf(" -room %d", f.Room)
}

// Credentials resolves the sdkAppId and a userSig for user: userSig as
// given, signed with key, or minted by a development server's /dev/usersig
// (which it then says with logf, unless logf is nil). The development
// server's /dev/usersig is what the demo page uses; a production server has
// none, and your application server signs userSigs with tlssig.GenUserSig.
func Credentials(server string, app uint32, key, userSig, user string, logf func(format string, v ...any)) (uint32, string, error) {
	switch {
	case userSig != "" && app != 0:
		return app, userSig, nil
	case key != "" && app != 0:
		return app, tlssig.GenUserSig(key, app, user, 24*time.Hour, time.Now()), nil
	case userSig != "" || key != "":
		return 0, "", errors.New("-usersig and -key need -app")
	}
	resp, err := http.Get(strings.TrimRight(server, "/") + "/dev/usersig?userId=" + url.QueryEscape(user))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var dev struct {
		SDKAppID uint32 `json:"sdkAppId"`
		UserSig  string `json:"userSig"`
		Message  string `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&dev); err != nil || resp.StatusCode != http.StatusOK {
		return 0, "", fmt.Errorf("no -app/-key given and %s/dev/usersig gave no userSig (%s %s): pass -app and -key", server, resp.Status, dev.Message)
	}
	if app != 0 && app != dev.SDKAppID {
		return 0, "", fmt.Errorf("the development app is %d, not %d: pass -key for app %d", dev.SDKAppID, app, app)
	}
	if logf != nil {
		logf("userSig for %q from %s/dev/usersig (development app %d)", user, server, dev.SDKAppID)
	}
	return dev.SDKAppID, dev.UserSig, nil
}

// NewPeerConnection is a pion PeerConnection of LoopbackAPI's, with no ICE
// servers: trtcd is on this machine.
func NewPeerConnection() (*webrtc.PeerConnection, error) {
	api, err := LoopbackAPI()
	if err != nil {
		return nil, err
	}
	return api.NewPeerConnection(webrtc.Configuration{})
}

// LoopbackAPI is a pion API for a client on this machine: loopback
// candidates only, no mDNS, UDP over IPv4, pion's default codecs and
// interceptors (NACK, RTCP reports, TWCC).
func LoopbackAPI() (*webrtc.API, error) {
	se := webrtc.SettingEngine{}
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir)), nil
}

// WatchState logs pc's connection states. connected closes once pc is
// connected, ended once it failed or closed (the server ended the session,
// say).
func WatchState(pc *webrtc.PeerConnection) (connected, ended <-chan struct{}) {
	c, e := make(chan struct{}), make(chan struct{})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		log.Printf("connection %s", s)
		switch s {
		case webrtc.PeerConnectionStateConnected:
			closeOnce(c)
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			closeOnce(e)
		}
	})
	return c, e
}

// closeOnce closes ch unless it is closed already; only the one
// OnConnectionStateChange callback calls it, one state at a time.
func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// GatherOffer creates pc's offer and waits for every candidate: WHIP and
// WHEP do not trickle, the offer POSTed carries them all.
func GatherOffer(pc *webrtc.PeerConnection) (string, error) {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return "", err
	}
	<-gathered
	return pc.LocalDescription().SDP, nil
}

// StatusError is a refused offer: a status other than 201 Created, with
// trtcd's JSON body, {"code": TRTC code, "message": why}.
type StatusError struct {
	StatusCode int    // 401, 403, 404 ...
	Status     string // "404 Not Found"
	Body       string
}

func (e *StatusError) Error() string { return e.Status + ": " + e.Body }

// Session is a WHIP or WHEP session that PostOffer started.
type Session struct {
	Answer string // the SDP answer
	URL    string // the Location header, resolved against the endpoint: DELETE it to leave

	bearer string
	gone   bool
}

// PostOffer POSTs an SDP offer to a WHIP or WHEP endpoint with the userSig
// as its bearer token, and returns the session it starts. A refusal is a
// *StatusError.
func PostOffer(endpoint, bearer, offer string) (*Session, error) {
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(offer))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return nil, &StatusError{StatusCode: resp.StatusCode, Status: resp.Status, Body: strings.TrimSpace(string(body))}
	}
	loc, err := resp.Location()
	if err != nil {
		return nil, fmt.Errorf("201 without a Location: %w", err)
	}
	return &Session{Answer: string(body), URL: loc.String(), bearer: bearer}, nil
}

// Gone says that the server ended the session (kicked, room closed,
// replaced): Leave then has nothing to DELETE.
func (s *Session) Gone() { s.gone = true }

// Leave DELETEs the session, unless it is gone: the server ends it at once
// instead of waiting for ICE to time out.
func (s *Session) Leave() {
	if s.gone {
		return
	}
	req, err := http.NewRequest(http.MethodDelete, s.URL, nil)
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+s.bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Printf("DELETE %s: %v", s.URL, err)
		return
	}
	resp.Body.Close()
	log.Printf("DELETE %s: %s", s.URL, resp.Status)
}
