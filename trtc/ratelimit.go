package trtc

import (
	"errors"
	"net/http"

	"github.com/trtcd/trtcd/internal/limit"
)

// DefaultAddressLimits are the per-address limits of the WHIP, WHEP,
// HTTP-FLV, /ws and REST listeners.
var DefaultAddressLimits = limit.Default

// rateLimited wraps a one-shot request handler (an offer, a REST call) with
// the gate's per-address rate.
func rateLimited(g *limit.Gate, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := g.Allow(r.RemoteAddr); err != nil {
			refuseAddress(w, err)
			return
		}
		h(w, r)
	}
}

// connectionLimited wraps a handler whose response lasts (an HTTP-FLV
// stream) with the gate's rate and its cap on connections held at once.
func connectionLimited(g *limit.Gate, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		leave, err := g.Enter(r.RemoteAddr)
		if err != nil {
			refuseAddress(w, err)
			return
		}
		defer leave()
		h(w, r)
	}
}

// refuseAddress answers a request over its address's limit: HTTP 429 with
// code 14009, so clients back off as from any rate limit.
func refuseAddress(w http.ResponseWriter, err error) {
	msg := "too many requests from this address"
	if errors.Is(err, limit.ErrConnections) {
		msg = "too many connections from this address"
	}
	writeHTTPError(w, http.StatusTooManyRequests, Errorf(CodeRateLimited, "%s", msg))
}
