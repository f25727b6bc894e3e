package trtc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// The room REST API's codes, from the TAvKit table the application servers
// of TRTC's demos use. They are a separate table from the client codes:
// 10002–10005 mean other things here.
const (
	RestServerError     Code = 10000
	RestBadRequest      Code = 10001
	RestJSONEncode      Code = 10002
	RestJSONDecode      Code = 10003
	RestInvalidParam    Code = 10004
	RestUnauthorized    Code = 10005
	RestStorageError    Code = 10006
	RestEnterFailed     Code = 14000
	RestExitFailed      Code = 14001
	RestRoomMismatch    Code = 14002
	RestRoomClosed      Code = 14003
	RestUserLeft        Code = 14004
	RestHeartbeatFailed Code = 14005
	RestMemberQuery     Code = 14006
	RestNoSuchRoom      Code = 14007
	RestRecordFailed    Code = 14008 // the recording files API
)

// maxRESTBody bounds a REST request body.
const maxRESTBody = 16 << 10

// RoomAPI is the REST API for application servers (docs/rest-api.md):
//
//	POST /v4/trtcd/{op}?sdkappid=&identifier=&usersig=
//
// with op one of enter_room, exit_room, heartbeat, get_room_list,
// get_room_members, kick_user, close_room, locate_room. It authenticates like Tencent's
// server APIs: identifier is one of the app's admin identifiers and usersig
// that identifier's userSig.
type RoomAPI struct {
	Apps  *Apps
	Rooms *Registry
	// Classrooms adds the classroom operations (nil: not offered).
	Classrooms *Classrooms
	// Limits ration calls per client address (IPv6 per /64) [50/s, burst
	// 200; Connections is not used]. A zero field takes its default, a
	// negative one turns that limit off. Over them: HTTP 429, code 14009.
	Limits limit.Config
	Now    func() time.Time
}

// Register adds the API's route to mux.
func (a *RoomAPI) Register(mux *http.ServeMux) {
	gate := limit.NewGate(a.Limits.Or(DefaultAddressLimits))
	mux.HandleFunc("POST /v4/trtcd/{op}", rateLimited(gate, a.serve))
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

func (a *RoomAPI) serve(w http.ResponseWriter, r *http.Request) {
	app, e := a.authenticate(r)
	if e != nil {
		restReply(w, e, nil)
		return
	}
	var req restRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRESTBody))
	if err != nil {
		restReply(w, Errorf(RestBadRequest, "reading the body: %v", err), nil)
		return
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			restReply(w, Errorf(RestJSONDecode, "the body is not the JSON expected: %v", err), nil)
			return
		}
	}
	var data map[string]any
	switch r.PathValue("op") {
	case "enter_room":
		data, e = a.enter(app, req)
	case "exit_room", "heartbeat", "kick_user":
		data, e = a.memberOp(app, r.PathValue("op"), req)
	case "get_room_list":
		data = map[string]any{"rooms": a.Rooms.List(app.SDKAppID)}
	case "get_room_members":
		data, e = a.members(app, req)
	case "create_classroom", "destroy_classroom", "list_classrooms", "classroom_members", "send_system_message", "classroom_history":
		data, e = a.classroomOp(app, r.PathValue("op"), req)
	case "close_room":
		data, e = a.close(app, req)
	case "locate_room":
		data, e = a.locate(r.Context(), app, req)
	default:
		e = Errorf(RestBadRequest, "unknown operation %q", r.PathValue("op"))
	}
	restReply(w, e, data)
}

func (a *RoomAPI) authenticate(r *http.Request) (App, *Error) {
	q := r.URL.Query()
	g, e := a.Apps.Authenticate(Credentials{SDKAppID: parseUint32(q.Get("sdkappid")), UserID: q.Get("identifier"),
		UserSig: q.Get("usersig"), Room: tlssig.Room{ID: 1}}, a.now())
	if e != nil {
		return App{}, Errorf(RestUnauthorized, "%s", e.Message)
	}
	if !g.App.IsAdmin(q.Get("identifier")) {
		return App{}, Errorf(RestUnauthorized, "%q is not an admin identifier of app %d", q.Get("identifier"), g.App.SDKAppID)
	}
	return g.App, nil
}

func (a *RoomAPI) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (req restRequest) room() (tlssig.Room, *Error) {
	if req.StrRoomID == "" && req.RoomID == 0 {
		return tlssig.Room{}, Errorf(RestInvalidParam, "roomId or strRoomId is required")
	}
	room, e := parseRoom(formatRoomID(req.RoomID), req.StrRoomID)
	if e != nil {
		return room, Errorf(RestInvalidParam, "%s", e.Message)
	}
	return room, nil
}

// enter makes a user a member on the application server's word; the user
// must then keep it alive with heartbeat.
func (a *RoomAPI) enter(app App, req restRequest) (map[string]any, *Error) {
	room, e := req.room()
	if e != nil {
		return nil, e
	}
	if req.UserID == "" {
		return nil, Errorf(RestInvalidParam, "userId is required")
	}
	m, others, e := a.Rooms.Enter(EnterRequest{App: app.SDKAppID, UserID: req.UserID, Room: room,
		Grant: &Grant{App: app, Privilege: tlssig.PrivAll}, Template: req.Template, Peer: restPeer{}, Heartbeats: true})
	if e != nil {
		return nil, Errorf(RestEnterFailed, "%s", e.Message)
	}
	return map[string]any{"roomUUID": m.Room.UUID, "members": others}, nil
}

// memberOp is exit_room, heartbeat and kick_user: they name a user and the
// room the caller believes the user is in.
func (a *RoomAPI) memberOp(app App, op string, req restRequest) (map[string]any, *Error) {
	room, e := req.room()
	if e != nil {
		return nil, e
	}
	m := a.Rooms.Current(app.SDKAppID, req.UserID)
	if m == nil && op == "kick_user" && a.Rooms.KickRemote(app.SDKAppID, req.UserID, RoomKey(app.SDKAppID, room)) {
		return nil, nil // a member on another node: that node removes it
	}
	if m == nil {
		return nil, Errorf(RestUserLeft, "user %q is in no room", req.UserID)
	}
	if m.Room.Key != RoomKey(app.SDKAppID, room) {
		return nil, Errorf(RestRoomMismatch, "user %q is in room %s, not %s", req.UserID, m.Room.ID, room)
	}
	switch op {
	case "exit_room":
		a.Rooms.Leave(m, "leave")
	case "heartbeat":
		a.Rooms.Heartbeat(m)
	case "kick_user":
		a.Rooms.Kick(m, Errorf(CodeForceOffline, "removed by the application server"))
	}
	return nil, nil
}

func (a *RoomAPI) find(app App, req restRequest) (*Room, *Error) {
	var id tlssig.Room
	if req.RoomUUID == "" {
		var e *Error
		if id, e = req.room(); e != nil {
			return nil, e
		}
	}
	room := a.Rooms.Find(app.SDKAppID, req.RoomUUID, id)
	if room == nil {
		if req.RoomUUID != "" {
			return nil, Errorf(RestNoSuchRoom, "no live room with UUID %q", req.RoomUUID)
		}
		return nil, Errorf(RestRoomClosed, "room %s is not live", id)
	}
	return room, nil
}

func (a *RoomAPI) members(app App, req restRequest) (map[string]any, *Error) {
	room, e := a.find(app, req)
	if e != nil {
		return nil, e
	}
	return map[string]any{"roomUUID": room.UUID, "members": a.Rooms.RoomMembers(room)}, nil
}

// locate says which node a room's next member should use: the one that
// has the room, or the least-loaded (clusters; a single node answers
// itself, with cluster false).
func (a *RoomAPI) locate(ctx context.Context, app App, req restRequest) (map[string]any, *Error) {
	room, e := req.room()
	if e != nil {
		return nil, e
	}
	p, ok, e := a.Rooms.Place(ctx, RoomKey(app.SDKAppID, room))
	if e != nil {
		return nil, e
	}
	return map[string]any{"cluster": ok, "node": p.Node, "http": p.HTTP, "https": p.HTTPS}, nil
}

func (a *RoomAPI) close(app App, req restRequest) (map[string]any, *Error) {
	room, e := a.find(app, req)
	if e != nil {
		// Only other nodes may have members: they close it.
		if id, ie := req.room(); ie == nil && req.RoomUUID == "" && a.Rooms.CloseRemote(RoomKey(app.SDKAppID, id)) {
			return nil, nil
		}
		return nil, e
	}
	a.Rooms.CloseRemote(room.Key)
	a.Rooms.CloseRoom(room)
	return nil, nil
}

// restReply writes {"code":0,"message":"",...data}. Errors are reported in
// the body with HTTP 200, as Tencent's server APIs do.
func restReply(w http.ResponseWriter, e *Error, data map[string]any) {
	out := map[string]any{"code": CodeOK, "message": ""}
	if e != nil {
		out["code"], out["message"] = e.Code, e.Message
	}
	for k, v := range data {
		out[k] = v
	}
	b, err := json.Marshal(out)
	if err != nil {
		b, _ = json.Marshal(map[string]any{"code": RestJSONEncode, "message": errors.Unwrap(err)})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func parseUint32(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32) // 0 (missing) on error
	return uint32(n)
}
