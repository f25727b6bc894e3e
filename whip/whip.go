// Package whip serves WHIP (RFC 9725) and WHEP: the standard, scriptable
// way to publish into and play from a room over HTTP.
package whip

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
)

// Server serves these routes:
//
//	POST   /whip/{sdkAppId}/{roomId}/{userId}             publish (Bearer userSig)
//	POST   /whep/{sdkAppId}/{roomId}/{publisherId}?userId= play a publisher (Bearer viewer's userSig)
//	DELETE /whip/session/{id}, /whep/session/{id}         leave
//
// Both take ?strRoomId=NAME for string rooms (then {roomId} is ignored) and
// ?privateMapKey=; WHIP also ?minBitrate=, ?maxBitrate=, ?recordId=,
// ?pureAudioPushMod=. WHIP publishers are room members; WHEP viewers are
// not (they take a viewer slot).
//
// A member's streams (docs/protocol.md): WHIP's ?video=main,small names
// the stream of each of the offer's video sections; ?stream=aux publishes
// a screen share beside the member's camera (streams.go). WHEP's
// ?stream=small or ?stream=aux plays the small stream or the screen
// instead of the main video.
type Server struct {
	Gate    *trtc.Gate
	SFU     *sfu.SFU
	Bitrate wayin.BitrateLimits
	// Recorder records publishers that give a recordId (nil: none are).
	Recorder trtc.Recorder
	// WHIPLimits and WHEPLimits ration offers per client address (IPv6 per
	// /64), since each costs a PeerConnection [50/s, burst 200; Connections
	// is not used: an offer is one request]. A zero field takes its default,
	// a negative one turns that limit off. Over them: HTTP 429, code 14009.
	WHIPLimits, WHEPLimits limit.Config
	Logger                 *slog.Logger

	mu       sync.Mutex
	sessions map[string]*sfu.Session
}

// negotiationTimeout bounds one offer/answer.
const negotiationTimeout = 10 * time.Second

// Register adds the WHIP and WHEP routes to mux.
func (w *Server) Register(mux *http.ServeMux) {
	publishers := limit.NewGate(w.WHIPLimits.Or(wayin.DefaultAddressLimits))
	players := limit.NewGate(w.WHEPLimits.Or(wayin.DefaultAddressLimits))
	mux.HandleFunc("POST /whip/{app}/{room}/{user}", wayin.RateLimited(publishers, w.publish))
	mux.HandleFunc("POST /whep/{app}/{room}/{publisher}", wayin.RateLimited(players, w.play))
	mux.HandleFunc("DELETE /whip/session/{id}", w.leave)
	mux.HandleFunc("DELETE /whep/session/{id}", w.leave)
	mux.HandleFunc("PATCH /whip/session/{id}", w.noTrickle)
	mux.HandleFunc("PATCH /whep/session/{id}", w.noTrickle)
	for _, p := range []string{"/whip/", "/whep/"} {
		mux.HandleFunc("OPTIONS "+p, wayin.Preflight)
	}
}

func (w *Server) publish(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	minKbps, err := wayin.QueryKbps("minBitrate", q.Get("minBitrate"))
	maxKbps, err2 := wayin.QueryKbps("maxBitrate", q.Get("maxBitrate"))
	if err = errors.Join(err, err2); err == nil {
		minKbps, maxKbps, err = w.Bitrate.Clamp(minKbps, maxKbps)
	}
	video, err3 := publishedVideo(q)
	err = errors.Join(err, err3)
	if err == nil && wayin.ScreenOnly(video) {
		w.publishScreen(rw, r, minKbps, maxKbps)
		return
	}
	var rec trtc.RecordParams
	if err == nil {
		rec, err = trtc.ParseRecordParams(q.Get("recordId"), q.Get("pureAudioPushMod"))
	}
	peer := &wayin.SessionPeer{}
	a, ok := w.admit(rw, r, trtc.Request{Intent: trtc.Enter, Record: rec, Peer: peer}, r.PathValue("user"))
	if !ok {
		return
	}
	leave := func() { w.Gate.Rooms.Leave(a.Member, "leave") }
	if err != nil {
		leave()
		wayin.WriteError(rw, trtc.Errorf(trtc.CodeParamCheckFailed, "%v", err))
		return
	}
	offer, ok := readSDP(rw, r)
	if !ok {
		leave()
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), negotiationTimeout)
	defer cancel()
	p := a.Grant.Privilege
	sess, answer, err := w.SFU.Publish(ctx, sfu.PublishRequest{
		Room: a.RoomKey, UserID: a.Member.UserID, Offer: offer, Video: video,
		MinBitrate: minKbps, MaxBitrate: maxKbps,
		AllowAudio: p.CanSendAudio(), AllowVideo: p.CanSendVideo(), AllowSub: p.CanSendSubVideo(),
	})
	if err != nil {
		leave()
	} else {
		peer.Set(sess)
		trtc.StartRecording(w.Recorder, w.Gate.Rooms, a.Member, w.Logger)
		go func() {
			<-sess.Done()
			leave()
		}()
	}
	w.answer(rw, "/whip/session/", sess, answer, err)
}

func (w *Server) play(rw http.ResponseWriter, r *http.Request) {
	viewer, publisher := r.URL.Query().Get("userId"), r.PathValue("publisher")
	video, err := wayin.VideoSource(r.URL.Query().Get("stream"))
	if err != nil {
		wayin.WriteError(rw, trtc.Errorf(trtc.CodeParamCheckFailed, "stream: %v", err))
		return
	}
	req := trtc.Request{Intent: trtc.Watch, Publisher: publisher}
	if video == sfu.SourceSub {
		req.Plays = trtc.Sub // bit 128, checked before a viewer slot is taken
	}
	a, ok := w.admit(rw, r, req, viewer)
	if !ok {
		return
	}
	offer, ok := readSDP(rw, r)
	if !ok {
		a.Release()
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), negotiationTimeout)
	defer cancel()
	p := a.Grant.Privilege
	sess, answer, err := w.SFU.Subscribe(ctx, sfu.SubscribeRequest{
		Room: a.RoomKey, UserID: viewer, Publisher: publisher, Offer: offer, Video: video,
		AllowAudio: p.CanRecvAudio(), AllowVideo: p.CanRecvVideo(), AllowSub: p.CanRecvSubVideo(),
	})
	if err != nil {
		a.Release()
	} else {
		go func() {
			<-sess.Done()
			a.Release()
		}()
	}
	w.answer(rw, "/whep/session/", sess, answer, err)
}

// admit takes the request's credentials from the path, the query and the
// Authorization header to the gate.
func (w *Server) admit(rw http.ResponseWriter, r *http.Request, req trtc.Request, userID string) (*trtc.Admission, bool) {
	q := r.URL.Query()
	app, err := strconv.ParseUint(r.PathValue("app"), 10, 32)
	if err != nil || app == 0 {
		wayin.WriteError(rw, trtc.Errorf(trtc.CodeMissingSDKAppID, "sdkAppId %q is not a number from 1 to 4294967295", r.PathValue("app")))
		return nil, false
	}
	room, e := trtc.ParseRoom(r.PathValue("room"), q.Get("strRoomId"))
	if e != nil {
		wayin.WriteError(rw, e)
		return nil, false
	}
	req.Credentials = trtc.Credentials{SDKAppID: uint32(app), UserID: userID, UserSig: wayin.Bearer(r),
		PrivateMapKey: q.Get("privateMapKey"), Room: room}
	a, e := w.Gate.Admit(r.Context(), req)
	if e != nil {
		wayin.WriteError(rw, e)
		return nil, false
	}
	return a, true
}

func readSDP(rw http.ResponseWriter, r *http.Request) (string, bool) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/sdp" {
		wayin.WriteHTTPError(rw, http.StatusUnsupportedMediaType, trtc.Errorf(trtc.CodeParamCheckFailed, "the body must be application/sdp"))
		return "", false
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, sfu.MaxSDPSize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			wayin.WriteHTTPError(rw, http.StatusRequestEntityTooLarge, trtc.Errorf(trtc.CodeParamCheckFailed, "the offer is larger than %d bytes", sfu.MaxSDPSize))
		} else {
			wayin.WriteHTTPError(rw, http.StatusBadRequest, trtc.Errorf(trtc.CodeParamCheckFailed, "reading the offer: %v", err))
		}
		return "", false
	}
	return string(body), true
}

// answer sends the SDP answer and remembers the session for DELETE.
func (w *Server) answer(rw http.ResponseWriter, prefix string, sess *sfu.Session, answer string, err error) {
	if err != nil {
		wayin.WriteError(rw, wayin.MediaError(err))
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

func (w *Server) leave(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	sess := w.sessions[r.PathValue("id")]
	w.mu.Unlock()
	if sess == nil {
		wayin.WriteHTTPError(rw, http.StatusNotFound, trtc.Errorf(trtc.CodeParamCheckFailed, "no such session"))
		return
	}
	sess.Close()
	rw.Header().Set("Access-Control-Allow-Origin", "*")
	rw.WriteHeader(http.StatusOK)
}

// noTrickle: answers carry every candidate (ICE-lite on one port), so
// trickle is not needed; RFC 9725 says to answer 405.
func (w *Server) noTrickle(rw http.ResponseWriter, _ *http.Request) {
	rw.Header().Set("Allow", "DELETE")
	rw.WriteHeader(http.StatusMethodNotAllowed)
}
