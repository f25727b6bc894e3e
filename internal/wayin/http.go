package wayin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/trtc"
)

// DefaultAddressLimits are the per-address limits of the WHIP, WHEP,
// HTTP-FLV, /ws and REST listeners.
var DefaultAddressLimits = limit.Default

// WriteError answers an HTTP request with e: its status and the JSON body
// {"code", "message"}.
func WriteError(rw http.ResponseWriter, e *trtc.Error) { WriteHTTPError(rw, e.HTTPStatus(), e) }

// WriteHTTPError answers with e and a status of the caller's choosing.
func WriteHTTPError(rw http.ResponseWriter, status int, e *trtc.Error) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Access-Control-Allow-Origin", "*")
	rw.WriteHeader(status)
	json.NewEncoder(rw).Encode(map[string]any{"code": e.Code, "message": e.Message})
}

// Bearer is the token of an Authorization: Bearer header ("" when none).
func Bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// Preflight answers a CORS preflight for the WHIP/WHEP routes.
func Preflight(rw http.ResponseWriter, _ *http.Request) {
	h := rw.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, DELETE, PATCH, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Expose-Headers", "Location")
	rw.WriteHeader(http.StatusNoContent)
}

// RateLimited wraps a one-shot request handler (an offer, a REST call) with
// the gate's per-address rate.
func RateLimited(g *limit.Gate, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := g.Allow(r.RemoteAddr); err != nil {
			RefuseAddress(w, err)
			return
		}
		h(w, r)
	}
}

// ConnectionLimited wraps a handler whose response lasts (an HTTP-FLV
// stream) with the gate's rate and its cap on connections held at once.
func ConnectionLimited(g *limit.Gate, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		leave, err := g.Enter(r.RemoteAddr)
		if err != nil {
			RefuseAddress(w, err)
			return
		}
		defer leave()
		h(w, r)
	}
}

// RefuseAddress answers a request over its address's limit, or over the
// listener's total: HTTP 429 with code 14009, so clients back off as from
// any rate limit.
func RefuseAddress(w http.ResponseWriter, err error) {
	msg := "too many requests from this address"
	if errors.Is(err, limit.ErrConnections) || errors.Is(err, limit.ErrTotal) {
		msg = err.Error()
	}
	WriteHTTPError(w, http.StatusTooManyRequests, trtc.Errorf(trtc.CodeRateLimited, "%s", msg))
}
