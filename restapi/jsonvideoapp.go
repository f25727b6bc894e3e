package restapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// RoomSig answers the webrtc-room mini-program component's room-signature
// request ("jsonvideoapp", trtc-compat.md 2.2), the one HTTP call the
// component makes before it pushes. Tencent's reply is an opaque blob for
// its native pusher; trtcd's RspBody instead tells a component adapted to
// trtcd (docs/miniprogram.md) where to push and how to play the others:
//
//	POST /v4/openim/jsonvideoapp?sdkappid=&identifier=&usersig=&random=&contenttype=json
//	POST /v4/trtc/jsonvideoapp   (the same; older copies use this path)
//
// The gate checks the credentials and the enter bit (Intent Check); the
// user enters later, by RTMP, with the URLs of the answer.
type RoomSig struct {
	Gate *trtc.Gate
	// RTMPPort is the RTMP listener's port: push and play URLs use the host
	// the client asked for with this port.
	RTMPPort int
	// Limits ration requests per client address (IPv6 per /64) [50/s,
	// burst 200; Connections is not used]. A zero field takes its default,
	// a negative one turns that limit off. Over them: HTTP 429, code 14009.
	Limits limit.Config
}

// roomSigRequest is the component's body.
type roomSigRequest struct {
	ReqHead struct {
		Cmd     int    `json:"Cmd"`
		SeqNo   uint32 `json:"SeqNo"`
		BusType int    `json:"BusType"`
		GroupID uint64 `json:"GroupId"`
	} `json:"ReqHead"`
	ReqBody struct {
		PrivMapEncrypt string `json:"PrivMapEncrypt"`
		TerminalType   int    `json:"TerminalType"`
		FromType       int    `json:"FromType"`
	} `json:"ReqBody"`
}

// RoomSigBody is what a successful answer carries in RspBody.
type RoomSigBody struct {
	SDKAppID uint32 `json:"SdkAppId"`
	RoomID   uint32 `json:"RoomId"`
	UserID   string `json:"UserId"`
	// PushURL is the live-pusher url for this user: RTMP into the room,
	// with the user's credentials in the query.
	PushURL string `json:"PushUrl"`
	// PlayURL and FLVURL are templates for live-player: replace {userId}
	// with a member's id (from the member-join events or the REST members
	// call). They carry this user's credentials as the viewer.
	PlayURL string `json:"PlayUrl"`
	FLVURL  string `json:"FlvUrl"`
	// Privilege is the privateMapKey's privilege map.
	Privilege uint8 `json:"Privilege"`
	// Expire is when the privateMapKey stops being accepted (Unix seconds).
	Expire int64 `json:"ExpireTime"`
}

// maxRoomSigBody bounds the request body: the component sends ~250 bytes.
const maxRoomSigBody = 16 << 10

// Register adds the routes.
func (rs *RoomSig) Register(mux *http.ServeMux) {
	gate := limit.NewGate(rs.Limits.Or(wayin.DefaultAddressLimits))
	mux.HandleFunc("POST /v4/openim/jsonvideoapp", wayin.RateLimited(gate, rs.serve))
	mux.HandleFunc("POST /v4/trtc/jsonvideoapp", wayin.RateLimited(gate, rs.serve))
}

func (rs *RoomSig) serve(rw http.ResponseWriter, r *http.Request) {
	var req roomSigRequest
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxRoomSigBody))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeRoomSig(rw, req.ReqHead.SeqNo, trtc.Errorf(trtc.CodeParamCheckFailed, "the body is not a jsonvideoapp request: %v", err), nil)
		return
	}
	b, e := rs.grant(r, &req)
	writeRoomSig(rw, req.ReqHead.SeqNo, e, b)
}

// grant checks the request the way Tencent's room-sig server does.
func (rs *RoomSig) grant(r *http.Request, req *roomSigRequest) (*RoomSigBody, *trtc.Error) {
	q := r.URL.Query()
	app, err := strconv.ParseUint(q.Get("sdkappid"), 10, 32)
	if err != nil || app == 0 { // the components' 10003, "sdkAppId missing", as the other ways in answer
		return nil, trtc.Errorf(trtc.CodeMissingSDKAppID, "sdkappid %q is not a number from 1 to 4294967295", q.Get("sdkappid"))
	}
	if req.ReqHead.GroupID == 0 || req.ReqHead.GroupID > 1<<32-1 { // 10005, "roomId missing", as trtc.ParseRoom answers
		return nil, trtc.Errorf(trtc.CodeMissingRoomID, "ReqHead.GroupId (the room id) must be 1 to 4294967295")
	}
	// An empty PrivMapEncrypt is 80 only for an app that requires a
	// privateMapKey (the gate says so); otherwise the userSig grants all,
	// as on every other way in (TAvKit's privateMapKey is optional).
	user, sig, pmk := q.Get("identifier"), q.Get("usersig"), req.ReqBody.PrivMapEncrypt
	room := tlssig.Room{ID: uint32(req.ReqHead.GroupID)}
	a, e := rs.Gate.Admit(r.Context(), trtc.Request{Intent: trtc.Check,
		Credentials: trtc.Credentials{SDKAppID: uint32(app), UserID: user, UserSig: sig, PrivateMapKey: pmk, Room: room}})
	if e != nil {
		return nil, e
	}
	g := a.Grant
	expire := int64(0)
	if g.PrivateMapKey != nil {
		expire = int64(g.PrivateMapKey.Buf.ExpireTime)
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		host = h
	}
	rtmpHost := net.JoinHostPort(host, strconv.Itoa(rs.RTMPPort))
	creds := url.Values{"usersig": {sig}, "privatemapkey": {pmk}}.Encode()
	viewer := url.Values{"userid": {user}, "usersig": {sig}, "privatemapkey": {pmk}}.Encode()
	stream := func(u string) string { return fmt.Sprintf("%d_%d_%s_main", app, room.ID, u) }
	scheme := "http"
	if overTLS(r) {
		scheme = "https" // WeChat plays only what its domain rules allow: https:// for https:// callers
	}
	return &RoomSigBody{
		SDKAppID: uint32(app), RoomID: room.ID, UserID: user,
		PushURL:   fmt.Sprintf("rtmp://%s/live/%s?%s", rtmpHost, stream(user), creds),
		PlayURL:   fmt.Sprintf("rtmp://%s/live/%s?%s", rtmpHost, stream("{userId}"), viewer),
		FLVURL:    fmt.Sprintf("%s://%s/live/%s.flv?%s", scheme, r.Host, stream("{userId}"), viewer),
		Privilege: uint8(g.Privilege),
		Expire:    expire,
	}, nil
}

// overTLS: the request came over TLS, to trtcd's --https listener or to a
// TLS-terminating proxy in front of it that says so (X-Forwarded-Proto).
// The header only chooses the scheme of the caller's own URLs.
func overTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0]), "https")
}

// writeRoomSig answers in the shape the component checks: a top-level
// ErrorCode and RspHead.ErrorCode, both 0 on success, and RspBody.
func writeRoomSig(rw http.ResponseWriter, seq uint32, e *trtc.Error, body *RoomSigBody) {
	code, info := 0, ""
	if e != nil {
		code, info = int(e.Code), e.Message
	}
	rw.Header().Set("Content-Type", "application/json")
	json.NewEncoder(rw).Encode(map[string]any{
		"ErrorCode": code, "ErrorInfo": info,
		"RspHead": map[string]any{"ErrorCode": code, "ErrorInfo": info, "SeqNo": seq},
		"RspBody": body,
	})
}
