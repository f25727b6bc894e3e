package trtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// Bitrate defaults and bounds (kbps). TRTC clients ask for 400–800; the
// server limits keep a client from asking for a range it cannot hold.
type BitrateLimits struct {
	DefaultMin, DefaultMax int
	Floor, Ceiling         int
}

// DefaultBitrateLimits are TRTC's defaults within 100 kbps – 4 Mbps.
var DefaultBitrateLimits = BitrateLimits{DefaultMin: 400, DefaultMax: 800, Floor: 100, Ceiling: 4000}

// WHIP serves WHIP (RFC 9725) and WHEP: the standard, scriptable way to
// publish into and play from a room over HTTP.
//
//	POST   /whip/{sdkAppId}/{roomId}/{userId}             publish (Bearer userSig)
//	POST   /whep/{sdkAppId}/{roomId}/{publisherId}?userId= play a publisher (Bearer viewer's userSig)
//	DELETE /whip/session/{id}, /whep/session/{id}         leave
//
// Both take ?strRoomId=NAME for string rooms (then {roomId} is ignored) and
// ?privateMapKey=; WHIP also ?minBitrate=, ?maxBitrate=, ?recordId=,
// ?pureAudioPushMod=.
type WHIP struct {
	Apps    *Apps
	Rooms   *Registry // WHIP publishers are room members; WHEP viewers are not (see ReserveViewer)
	SFU     *sfu.SFU
	Bitrate BitrateLimits
	// Recorder records publishers that give a recordId (nil: none are).
	Recorder Recorder
	// WHIPLimits and WHEPLimits ration offers per client address (IPv6 per
	// /64), since each costs a PeerConnection [50/s, burst 200; Connections
	// is not used: an offer is one request]. A zero field takes its default,
	// a negative one turns that limit off. Over them: HTTP 429, code 14009.
	WHIPLimits, WHEPLimits limit.Config
	Logger                 *slog.Logger
	Now                    func() time.Time // for tests; time.Now when nil

	mu       sync.Mutex
	sessions map[string]*sfu.Session
}

// negotiationTimeout bounds one offer/answer.
const negotiationTimeout = 10 * time.Second

// Register adds the WHIP and WHEP routes to mux.
func (w *WHIP) Register(mux *http.ServeMux) {
	publishers := limit.NewGate(w.WHIPLimits.Or(DefaultAddressLimits))
	players := limit.NewGate(w.WHEPLimits.Or(DefaultAddressLimits))
	mux.HandleFunc("POST /whip/{app}/{room}/{user}", rateLimited(publishers, w.publish))
	mux.HandleFunc("POST /whep/{app}/{room}/{publisher}", rateLimited(players, w.play))
	mux.HandleFunc("DELETE /whip/session/{id}", w.leave)
	mux.HandleFunc("DELETE /whep/session/{id}", w.leave)
	mux.HandleFunc("PATCH /whip/session/{id}", w.noTrickle)
	mux.HandleFunc("PATCH /whep/session/{id}", w.noTrickle)
	for _, p := range []string{"/whip/", "/whep/"} {
		mux.HandleFunc("OPTIONS "+p, preflight)
	}
}

func (w *WHIP) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *WHIP) publish(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	g, room, ok := w.admit(rw, r, r.PathValue("user"))
	if !ok {
		return
	}
	minKbps, err := queryKbps("minBitrate", q.Get("minBitrate"))
	maxKbps, err2 := queryKbps("maxBitrate", q.Get("maxBitrate"))
	if err = errors.Join(err, err2); err == nil {
		minKbps, maxKbps, err = w.Bitrate.clamp(minKbps, maxKbps)
	}
	var rec RecordParams
	if err == nil {
		rec, err = parseRecordParams(q.Get("recordId"), q.Get("pureAudioPushMod"))
	}
	if err != nil {
		WriteError(rw, Errorf(CodeParamCheckFailed, "%v", err))
		return
	}
	offer, ok := readSDP(rw, r)
	if !ok {
		return
	}
	app, _ := strconv.ParseUint(r.PathValue("app"), 10, 32)
	roomID, _ := parseRoom(r.PathValue("room"), q.Get("strRoomId"))
	peer := &sessionPeer{}
	m, _, e := w.Rooms.Enter(EnterRequest{App: uint32(app), UserID: r.PathValue("user"), Room: roomID, Grant: g, Record: rec, Peer: peer})
	if e != nil {
		WriteError(rw, e)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), negotiationTimeout)
	defer cancel()
	sess, answer, err := w.SFU.Publish(ctx, sfu.PublishRequest{
		Room: room, UserID: r.PathValue("user"), Offer: offer,
		MinBitrate: minKbps, MaxBitrate: maxKbps,
		AllowAudio: g.Privilege.CanSendAudio(), AllowVideo: g.Privilege.CanSendVideo(),
	})
	if err != nil {
		w.Rooms.Leave(m, "leave")
	} else {
		peer.set(sess)
		startRecording(w.Recorder, w.Rooms, m, w.Logger)
		go func() {
			<-sess.Done()
			w.Rooms.Leave(m, "leave")
		}()
	}
	w.answer(rw, "/whip/session/", sess, answer, err)
}

// sessionPeer is a member whose only tie to trtcd is its media session (a
// WHIP publisher, an RTMP pusher): it has no channel for events, and being
// replaced or kicked ends its session.
type sessionPeer struct {
	mu     sync.Mutex
	sess   *sfu.Session
	kicked bool
}

func (p *sessionPeer) set(s *sfu.Session) {
	p.mu.Lock()
	p.sess = s
	kicked := p.kicked
	p.mu.Unlock()
	if kicked {
		s.Close()
	}
}

func (p *sessionPeer) Notify(Event) {}

func (p *sessionPeer) Kick(*Error) {
	p.mu.Lock()
	s := p.sess
	p.kicked = true
	p.mu.Unlock()
	if s != nil {
		go s.Close()
	}
}

func (w *WHIP) play(rw http.ResponseWriter, r *http.Request) {
	viewer := r.URL.Query().Get("userId")
	g, room, ok := w.admit(rw, r, viewer)
	if !ok {
		return
	}
	offer, ok := readSDP(rw, r)
	if !ok {
		return
	}
	if e := w.Rooms.Fetch(r.Context(), room, r.PathValue("publisher")); e != nil {
		WriteError(rw, e)
		return
	}
	app, _ := strconv.ParseUint(r.PathValue("app"), 10, 32)
	release, e := w.Rooms.ReserveViewer(room, uint32(app), viewer)
	if e != nil {
		WriteError(rw, e)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), negotiationTimeout)
	defer cancel()
	sess, answer, err := w.SFU.Subscribe(ctx, sfu.SubscribeRequest{
		Room: room, UserID: viewer, Publisher: r.PathValue("publisher"), Offer: offer,
		AllowAudio: g.Privilege.CanRecvAudio(), AllowVideo: g.Privilege.CanRecvVideo(),
	})
	if err != nil {
		release()
	} else {
		go func() {
			<-sess.Done()
			release()
		}()
	}
	w.answer(rw, "/whep/session/", sess, answer, err)
}

// admit authenticates a WHIP or WHEP request (see admit).
func (w *WHIP) admit(rw http.ResponseWriter, r *http.Request, userID string) (*Grant, string, bool) {
	q := r.URL.Query()
	app, err := strconv.ParseUint(r.PathValue("app"), 10, 32)
	if err != nil || app == 0 {
		WriteError(rw, Errorf(CodeMissingSDKAppID, "sdkAppId %q is not a number from 1 to 4294967295", r.PathValue("app")))
		return nil, "", false
	}
	room, e := parseRoom(r.PathValue("room"), q.Get("strRoomId"))
	if e != nil {
		WriteError(rw, e)
		return nil, "", false
	}
	g, key, e := admit(w.Apps, w.Rooms, w.SFU, Credentials{
		SDKAppID: uint32(app), UserID: userID, UserSig: bearer(r),
		PrivateMapKey: q.Get("privateMapKey"), Room: room,
	}, w.now())
	if e != nil {
		WriteError(rw, e)
		return nil, "", false
	}
	return g, key, true
}

// admit authenticates a member for any entry point (WHIP, WHEP, RTMP,
// HTTP-FLV) and applies the room rules: enter needs the enter bit, and
// entering a room that does not exist creates it, which needs the create
// bit. It returns the grant and the SFU's room key.
func admit(apps *Apps, rooms *Registry, media *sfu.SFU, c Credentials, now time.Time) (*Grant, string, *Error) {
	g, e := apps.Authenticate(c, now)
	if e != nil {
		return nil, "", e
	}
	key := RoomKey(c.SDKAppID, c.Room)
	switch {
	case !g.Privilege.CanEnterRoom():
		return nil, "", Errorf(CodeNoEnterRoomPrivilege, "the privateMapKey does not allow entering room %s", c.Room)
	case !rooms.Exists(key) && !media.HasRoom(key) && !g.Privilege.CanCreateRoom():
		return nil, "", Errorf(CodeNoCreateRoomPrivilege, "room %s does not exist and the privateMapKey does not allow creating it", c.Room)
	}
	return g, key, nil
}

// RoomKey names a room for the media plane: apps are separate, and numeric
// and string room ids are separate namespaces.
func RoomKey(app uint32, r tlssig.Room) string {
	if r.IsString() {
		return fmt.Sprintf("%d/s:%s", app, r.Str)
	}
	return fmt.Sprintf("%d/%d", app, r.ID)
}

// splitRoomKey is RoomKey's app and room id (a string id as it is).
func splitRoomKey(key string) (app uint32, room string, ok bool) {
	a, room, ok := strings.Cut(key, "/")
	n, err := strconv.ParseUint(a, 10, 32)
	return uint32(n), strings.TrimPrefix(room, "s:"), ok && err == nil
}

// maxStrRoomID is TRTC's limit on string room ids.
const maxStrRoomID = 64

// strRoomIDSymbols, the letters and the digits are the 89 characters TRTC
// allows in a string room id (space is among the symbols).
const strRoomIDSymbols = " !#$%&()+-:;<=.>?@[]^_{}|~,"

func validStrRoomID(s string) bool {
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune(strRoomIDSymbols, c)) {
			return false
		}
	}
	return true
}

func parseRoom(id, str string) (tlssig.Room, *Error) {
	if str != "" {
		if len(str) > maxStrRoomID {
			return tlssig.Room{}, Errorf(CodeParamCheckFailed, "strRoomId is longer than %d bytes", maxStrRoomID)
		}
		if !validStrRoomID(str) {
			return tlssig.Room{}, Errorf(CodeParamCheckFailed, "strRoomId %q has a character TRTC does not allow (letters, digits, space and %s only)",
				str, strRoomIDSymbols[1:])
		}
		return tlssig.Room{Str: str}, nil
	}
	n, err := strconv.ParseUint(id, 10, 32)
	if err != nil || n == 0 {
		return tlssig.Room{}, Errorf(CodeMissingRoomID, "roomId %q is not a number from 1 to 4294967295 (use ?strRoomId= for a string room)", id)
	}
	return tlssig.Room{ID: uint32(n)}, nil
}

// clamp applies the limits to a client's range (0 = the default) and
// checks that it is a range.
func (l BitrateLimits) clamp(minKbps, maxKbps int) (int, int, error) {
	if l.Ceiling == 0 {
		l = DefaultBitrateLimits
	}
	if minKbps < 0 || maxKbps < 0 {
		return 0, 0, fmt.Errorf("bitrates must be positive kbps, got %d–%d", minKbps, maxKbps)
	}
	if minKbps == 0 {
		minKbps = l.DefaultMin
	}
	if maxKbps == 0 {
		maxKbps = l.DefaultMax
	}
	minKbps, maxKbps = min(max(minKbps, l.Floor), l.Ceiling), min(max(maxKbps, l.Floor), l.Ceiling)
	if minKbps > maxKbps {
		return 0, 0, fmt.Errorf("minBitrate %d is above maxBitrate %d", minKbps, maxKbps)
	}
	return minKbps, maxKbps, nil
}

// queryKbps reads an optional bitrate query parameter (0 when absent).
func queryKbps(name, text string) (int, error) {
	if text == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s %q is not a positive number of kbps", name, text)
	}
	return n, nil
}

// parseRecordParams checks a recordId and pureAudioPushMod from a query.
func parseRecordParams(recordID, pureAudio string) (RecordParams, error) {
	p := RecordParams{RecordID: recordID}
	switch pureAudio {
	case "", "0":
	case "1", "2":
		p.PureAudio = int(pureAudio[0] - '0')
	default:
		return p, fmt.Errorf("pureAudioPushMod %q: want 0, 1 or 2", pureAudio)
	}
	return p, checkRecordID(recordID)
}

// checkRecordID: a recordId names files, so it is short and plain.
func checkRecordID(id string) error {
	if len(id) > 64 {
		return errors.New("recordId is longer than 64 bytes")
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') || id[0] == '.' {
			return fmt.Errorf("recordId %q: use letters, digits, '-', '_' and '.' only", id)
		}
	}
	return nil
}

func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

func readSDP(rw http.ResponseWriter, r *http.Request) (string, bool) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/sdp" {
		writeHTTPError(rw, http.StatusUnsupportedMediaType, Errorf(CodeParamCheckFailed, "the body must be application/sdp"))
		return "", false
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, sfu.MaxSDPSize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeHTTPError(rw, http.StatusRequestEntityTooLarge, Errorf(CodeParamCheckFailed, "the offer is larger than %d bytes", sfu.MaxSDPSize))
		} else {
			writeHTTPError(rw, http.StatusBadRequest, Errorf(CodeParamCheckFailed, "reading the offer: %v", err))
		}
		return "", false
	}
	return string(body), true
}

// answer sends the SDP answer and remembers the session for DELETE.
func (w *WHIP) answer(rw http.ResponseWriter, prefix string, sess *sfu.Session, answer string, err error) {
	if err != nil {
		WriteError(rw, MediaError(err))
		return
	}
	w.mu.Lock()
	if w.sessions == nil {
		w.sessions = map[string]*sfu.Session{}
	}
	w.sessions[sess.ID] = sess
	w.mu.Unlock()
	go func() {
		<-sess.Done()
		w.mu.Lock()
		delete(w.sessions, sess.ID)
		w.mu.Unlock()
	}()
	rw.Header().Set("Content-Type", "application/sdp")
	rw.Header().Set("Location", prefix+sess.ID)
	rw.Header().Set("Access-Control-Allow-Origin", "*")
	rw.Header().Set("Access-Control-Expose-Headers", "Location")
	rw.WriteHeader(http.StatusCreated)
	io.WriteString(rw, answer)
}

// MediaError maps the media plane's refusals to TRTC codes, for every
// entry point (WHIP, /ws, RTMP, the Web SDK).
func MediaError(err error) *Error {
	switch {
	case errors.Is(err, sfu.ErrSendVideoDenied):
		return Errorf(CodeNoSendVideoPrivilege, "the privateMapKey does not allow sending video")
	case errors.Is(err, sfu.ErrRecvVideoDenied):
		return Errorf(CodeNoRecvVideoPrivilege, "the privateMapKey does not allow receiving video")
	case errors.Is(err, sfu.ErrSendAudioDenied):
		return Errorf(CodePrivilegeCheckFailed, "the privateMapKey does not allow sending audio (bit 4)")
	case errors.Is(err, sfu.ErrRecvAudioDenied):
		return Errorf(CodePrivilegeCheckFailed, "the privateMapKey does not allow receiving audio (bit 8)")
	case errors.Is(err, sfu.ErrNotPublishing):
		return &Error{Code: CodeParamCheckFailed, Message: err.Error(), status: http.StatusNotFound}
	case errors.Is(err, sfu.ErrBadOffer), errors.Is(err, sfu.ErrNoMedia), errors.Is(err, sfu.ErrNoCommonCodec), errors.Is(err, sfu.ErrCodecMismatch):
		return Errorf(CodeParamCheckFailed, "%v", err)
	}
	return &Error{Code: CodeParamCheckFailed, Message: "the media server could not answer: " + err.Error(), status: http.StatusInternalServerError}
}

func (w *WHIP) leave(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	sess := w.sessions[r.PathValue("id")]
	w.mu.Unlock()
	if sess == nil {
		writeHTTPError(rw, http.StatusNotFound, Errorf(CodeParamCheckFailed, "no such session"))
		return
	}
	sess.Close()
	rw.Header().Set("Access-Control-Allow-Origin", "*")
	rw.WriteHeader(http.StatusOK)
}

// noTrickle: answers carry every candidate (ICE-lite on one port), so
// trickle is not needed; RFC 9725 says to answer 405.
func (w *WHIP) noTrickle(rw http.ResponseWriter, _ *http.Request) {
	rw.Header().Set("Allow", "DELETE")
	rw.WriteHeader(http.StatusMethodNotAllowed)
}

func preflight(rw http.ResponseWriter, _ *http.Request) {
	h := rw.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, DELETE, PATCH, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Expose-Headers", "Location")
	rw.WriteHeader(http.StatusNoContent)
}

// HTTPStatus is the HTTP status that goes with a code.
func (e *Error) HTTPStatus() int {
	if e.status != 0 {
		return e.status
	}
	switch e.Code {
	case CodeOK:
		return http.StatusOK
	case CodeSDKAppIDNotFound, CodeUserSigCheckFailed, CodePrivateMapKeyEmpty, CodePrivateMapKeyExpired, CodePrivateMapKeyIncorrect:
		return http.StatusUnauthorized
	case CodePrivilegeCheckFailed, CodeNoCreateRoomPrivilege, CodeNoEnterRoomPrivilege, CodeNoSendVideoPrivilege, CodeNoRecvVideoPrivilege:
		return http.StatusForbidden
	case CodeClusterUnavailable:
		return http.StatusServiceUnavailable
	case CodeRateLimited:
		return http.StatusTooManyRequests
	}
	return http.StatusBadRequest
}

// WriteError answers an HTTP request with e: its status and the JSON body
// {"code", "message"}.
func WriteError(rw http.ResponseWriter, e *Error) { writeHTTPError(rw, e.HTTPStatus(), e) }

func writeHTTPError(rw http.ResponseWriter, status int, e *Error) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Access-Control-Allow-Origin", "*")
	rw.WriteHeader(status)
	json.NewEncoder(rw).Encode(map[string]any{"code": e.Code, "message": e.Message})
}
