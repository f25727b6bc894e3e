package websdk

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// scheduleReply is the schedule endpoint's answer: where the signalling
// is (the SDK puts wss:// in front of each domain), ICE servers, and where
// logs go. The SDK needs domains even when it only uses it as a hint.
type scheduleReply struct {
	Code int          `json:"code"`
	Msg  string       `json:"msg"`
	Data scheduleData `json:"data"`
}

type scheduleData struct {
	Domains            []string       `json:"domains"`
	ICEServers         []any          `json:"iceServers"`
	ICETransportPolicy string         `json:"iceTransportPolicy"`
	Config             scheduleConfig `json:"config"`
}

type scheduleConfig struct {
	LoggerDomain string `json:"loggerDomain"`
	// ScheduleCache false: the SDK asks again at every join, so a changed
	// configuration takes effect at once.
	ScheduleCache bool `json:"scheduleCache"`
}

// maxScheduleBody bounds the schedule request's form (six short fields).
const maxScheduleBody = 64 << 10

// schedule answers the SDK's POST /api/v1/config. It does not check the
// userSig: the answer reveals nothing, and join checks it with the room's
// privileges; failing here would give the application a less precise error
// (16460 "schedule failed" instead of join's code).
func (h *Handler) schedule(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxScheduleBody)
	base := h.signallingHost(r) + Prefix
	cors(w)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(scheduleReply{Data: scheduleData{
		Domains:            []string{base},
		ICEServers:         []any{},
		ICETransportPolicy: "all",
		Config:             scheduleConfig{LoggerDomain: "https://" + base},
	}})
}

// signallingHost is where the SDK should signal: in a cluster, the node
// that has the room (or the least-loaded) when it serves TLS; otherwise
// this one.
func (h *Handler) signallingHost(r *http.Request) string {
	defer io.Copy(io.Discard, r.Body)
	app, err := strconv.ParseUint(r.FormValue("sdkAppId"), 10, 32)
	room := tlssig.Room{Str: r.FormValue("groupId")}
	if r.FormValue("isStrGroupId") != "true" {
		id, perr := strconv.ParseUint(room.Str, 10, 32)
		room, err = tlssig.Room{ID: uint32(id)}, errors.Join(err, perr)
	}
	if err != nil || h.Gate.Rooms == nil {
		return r.Host
	}
	if p, ok, e := h.Gate.Rooms.Place(r.Context(), trtc.RoomKey(uint32(app), room)); ok && e == nil && p.HTTPS != "" {
		return p.HTTPS
	}
	return r.Host
}

// maxLogBody bounds what is read of a log upload; the SDK sends at most 50
// lines at a time, and its end-of-call report is the largest at a few tens
// of KB. A longer body is cut there (and its connection closed after the
// answer): it is dropped unread either way, and reading a MiB for each of
// a flood's requests would cost the server its bandwidth.
const maxLogBody = 64 << 10

// logs takes the SDK's log lines, events and end-of-call report and drops
// them. They must not fail: the end-of-call report expects the body "ok"
// and resends anything else three times, so a body over maxLogBody gets
// "ok" too.
func (h *Handler) logs(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLogBody)
	io.Copy(io.Discard, r.Body)
	cors(w)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok")
}

// preflight answers CORS preflights (the SDK's requests are simple ones
// that need none, but a proxy in front may add headers).
func preflight(w http.ResponseWriter, _ *http.Request) {
	cors(w)
	w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
	w.WriteHeader(http.StatusNoContent)
}

// cors: the page is on the application's origin, not trtcd's, and the SDK
// sends no credentials, so any origin may read the answers.
func cors(w http.ResponseWriter) { w.Header().Set("Access-Control-Allow-Origin", "*") }
