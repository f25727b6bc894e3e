// Package restapi is the HTTP API for application servers: the room
// operations and the classroom operations (POST /v4/trtcd/{op}), the
// recording files, and the mini-program component's room signature
// (jsonvideoapp). Every call is admitted by the room core's gate; failures
// answer in the REST shape {"code", "message"}, with HTTP 200 as Tencent's
// server APIs do.
package restapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/trtcd/trtcd/classroom"
	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// maxRESTBody bounds a REST request body.
const maxRESTBody = 16 << 10

// Server is the REST API for application servers (docs/rest-api.md):
//
//	POST /v4/trtcd/{op}?sdkappid=&identifier=&usersig=
//
// with op one of enter_room, exit_room, heartbeat, get_room_list,
// get_room_members, kick_user, close_room, locate_room, and the classroom
// operations (classrooms.go). It authenticates like Tencent's server APIs:
// identifier is one of the app's admin identifiers and usersig that
// identifier's userSig.
type Server struct {
	Gate *trtc.Gate
	// Classrooms adds the classroom operations (nil: not offered).
	Classrooms *classroom.Classrooms
	// Limits ration calls per client address (IPv6 per /64) [50/s, burst
	// 200; Connections is not used]. A zero field takes its default, a
	// negative one turns that limit off. Over them: HTTP 429, code 14009.
	Limits limit.Config
}

// Register adds the API's route to mux.
func (s *Server) Register(mux *http.ServeMux) {
	gate := limit.NewGate(s.Limits.Or(wayin.DefaultAddressLimits))
	mux.HandleFunc("POST /v4/trtcd/{op}", wayin.RateLimited(gate, s.serve))
}

// restRequest is the union of the ops' bodies.
type restRequest struct {
	UserID    string `json:"userId"`
	RoomID    uint32 `json:"roomId"`
	StrRoomID string `json:"strRoomId"`
	RoomUUID  string `json:"roomUUID"`
	Template  string `json:"template"`
	// Classroom operations.
	ClassID    uint32 `json:"classId"`
	StrClassID string `json:"strClassId"`
	Creator    string `json:"creator"`
	Text       string `json:"text"`
	AfterSeq   uint64 `json:"afterSeq"`
	Limit      int    `json:"limit"`
}

// caller is an application server the gate admitted as an admin of its
// app.
type caller struct {
	trtc.Credentials
	App trtc.App
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	c, e := administer(r.Context(), s.Gate, r)
	if e != nil {
		restReply(w, e, nil)
		return
	}
	var req restRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRESTBody))
	if err != nil {
		restReply(w, trtc.Errorf(trtc.RestBadRequest, "reading the body: %v", err), nil)
		return
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			restReply(w, trtc.Errorf(trtc.RestJSONDecode, "the body is not the JSON expected: %v", err), nil)
			return
		}
	}
	var data map[string]any
	switch op := r.PathValue("op"); op {
	case "enter_room":
		data, e = s.enter(r.Context(), c, req)
	case "exit_room", "heartbeat", "kick_user":
		data, e = s.memberOp(c.App, op, req)
	case "get_room_list":
		data = map[string]any{"rooms": s.Gate.Rooms.List(c.App.SDKAppID)}
	case "get_room_members":
		data, e = s.members(c.App, req)
	case "create_classroom", "destroy_classroom", "list_classrooms", "classroom_members", "send_system_message", "classroom_history":
		data, e = s.classroomOp(c.App, op, req)
	case "close_room":
		data, e = s.close(c.App, req)
	case "locate_room":
		data, e = s.locate(r.Context(), c.App, req)
	default:
		e = trtc.Errorf(trtc.RestBadRequest, "unknown operation %q", op)
	}
	restReply(w, e, data)
}

// administer takes the query's sdkappid, identifier and usersig to the
// gate as an admin of the app. A credential missing from the query is
// RestInvalidParam (10004, which is also the components' "userSig
// missing"); any other refusal is RestUnauthorized, with the gate's
// sentence.
func administer(ctx context.Context, gate *trtc.Gate, r *http.Request) (caller, *trtc.Error) {
	q := r.URL.Query()
	creds := trtc.Credentials{SDKAppID: parseUint32(q.Get("sdkappid")), UserID: q.Get("identifier"), UserSig: q.Get("usersig")}
	a, e := gate.Admit(ctx, trtc.Request{Credentials: creds, Intent: trtc.Administer})
	switch {
	case e == nil:
	case e.Code == trtc.CodeMissingSDKAppID || e.Code == trtc.CodeMissingUserID || e.Code == trtc.CodeMissingUserSig:
		return caller{}, trtc.Errorf(trtc.RestInvalidParam, "%s (sdkappid, identifier and usersig go in the query)", e.Message)
	default:
		return caller{}, trtc.Errorf(trtc.RestUnauthorized, "%s", e.Message)
	}
	return caller{Credentials: creds, App: a.Grant.App}, nil
}

// room is the body's roomId or strRoomId (which wins when given).
func (req restRequest) room() (tlssig.Room, *trtc.Error) {
	if req.StrRoomID == "" && req.RoomID == 0 {
		return tlssig.Room{}, trtc.Errorf(trtc.RestInvalidParam, "roomId or strRoomId is required")
	}
	room := tlssig.Room{ID: req.RoomID}
	if req.StrRoomID != "" {
		room = tlssig.Room{Str: req.StrRoomID}
	}
	if e := trtc.CheckRoom(room); e != nil {
		return room, trtc.Errorf(trtc.RestInvalidParam, "%s", e.Message)
	}
	return room, nil
}

// restReply writes {"code":0,"message":"",...data}. Errors are reported in
// the body with HTTP 200, as Tencent's server APIs do.
func restReply(w http.ResponseWriter, e *trtc.Error, data map[string]any) {
	out := map[string]any{"code": trtc.CodeOK, "message": ""}
	if e != nil {
		out["code"], out["message"] = e.Code, e.Message
	}
	for k, v := range data {
		out[k] = v
	}
	b, err := json.Marshal(out)
	if err != nil {
		b, _ = json.Marshal(map[string]any{"code": trtc.RestJSONEncode, "message": errors.Unwrap(err)})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func parseUint32(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32) // 0 (missing) on error
	return uint32(n)
}
