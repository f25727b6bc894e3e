package signaling

import (
	"net"
	"net/http"
	"sync"

	"golang.org/x/time/rate"
)

// ipLimiter limits how often one address may do something (open a
// WebSocket, post an offer, call the REST API).
type ipLimiter struct {
	perSecond float64
	burst     int

	mu    sync.Mutex
	perIP map[string]*rate.Limiter
}

// maxTrackedIPs: past this many addresses the table starts afresh rather
// than grow without bound under a spray of sources.
const maxTrackedIPs = 100_000

func newIPLimiter(perSecond float64, burst int) *ipLimiter {
	return &ipLimiter{perSecond: perSecond, burst: burst, perIP: map[string]*rate.Limiter{}}
}

func (l *ipLimiter) allow(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.perIP) > maxTrackedIPs {
		l.perIP = map[string]*rate.Limiter{}
	}
	lim := l.perIP[host]
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(l.perSecond), l.burst)
		l.perIP[host] = lim
	}
	return lim.Allow()
}

// limited wraps a handler with a per-address limit; over it the client gets
// HTTP 429 with code 14009.
func (l *ipLimiter) limited(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !l.allow(r) {
			writeHTTPError(w, http.StatusTooManyRequests, Errorf(CodeRateLimited, "too many requests from this address"))
			return
		}
		h(w, r)
	}
}
