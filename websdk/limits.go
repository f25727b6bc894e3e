package websdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/trtc"
)

// Limits bound what one address and one socket may cost. A zero field takes
// its default (in brackets); a negative rate, connection count or timeout
// is no limit.
type Limits struct {
	// PerAddress: signalling sockets opened per second and burst, and held
	// at once, per client address (IPv6 per /64) [50/s, burst 200, 500
	// sockets]: a school behind one NAT address joins 200 at once. Past it
	// the upgrade is answered HTTP 429 with code 14009.
	PerAddress limit.Config
	// LoginTimeout: a socket that has not joined with a valid userSig this
	// long after it opened is closed (1008, reason "14009 …") [10s]. The SDK
	// joins as soon as the socket opens.
	LoginTimeout time.Duration
	// MessagesPerSecond, MessageBurst: frames a joined socket may send
	// [20/s, burst 100]. The SDK sends a quality report every 2 s and a
	// user-list poll every 10 s, and subscribes to every publisher at once
	// when it joins a busy room. Past it the socket gets 9 with code 14009
	// and is closed.
	MessagesPerSecond float64
	MessageBurst      int
	// LoginMessagesPerSecond, LoginMessageBurst: the same before the join
	// [2/s, burst 10]; the SDK sends one join.
	LoginMessagesPerSecond float64
	LoginMessageBurst      int
	// MaxQueuedBytes bounds the frames waiting for a joined socket that
	// reads slowly [4 MiB, as /ws]; past it the socket gets 9 with code
	// 14009 and is closed. Negative: no byte bound (1024 frames still are).
	MaxQueuedBytes int
}

// DefaultLimits are the limits of a zero Limits.
var DefaultLimits = Limits{
	// Named: refusals count in trtcd_refused_total{listener="websdk"}.
	PerAddress:   limit.Config{Name: "websdk"}.Or(limit.Default),
	LoginTimeout: 10 * time.Second,
	// The Web SDK's own pace (see the field comments), with room to spare.
	MessagesPerSecond: 20, MessageBurst: 100,
	LoginMessagesPerSecond: 2, LoginMessageBurst: 10,
	MaxQueuedBytes: 4 << 20,
}

// resolved fills the zero fields with defaults and turns the negative ones
// into what means "no limit" where each is used (0 for the gate and for a
// deadline, rate.Inf for a frame rate).
func (l Limits) resolved() Limits {
	d := DefaultLimits
	l.PerAddress.PerSecond = orDefault(l.PerAddress.PerSecond, d.PerAddress.PerSecond, 0)
	l.PerAddress.Burst = orDefault(l.PerAddress.Burst, d.PerAddress.Burst, 0)
	l.PerAddress.Connections = orDefault(l.PerAddress.Connections, d.PerAddress.Connections, 0)
	if l.PerAddress.Name == "" {
		l.PerAddress.Name = d.PerAddress.Name
	}
	l.LoginTimeout = orDefault(l.LoginTimeout, d.LoginTimeout, 0)
	l.MessagesPerSecond = orDefault(l.MessagesPerSecond, d.MessagesPerSecond, float64(rate.Inf))
	l.MessageBurst = orDefault(l.MessageBurst, d.MessageBurst, 1)
	l.LoginMessagesPerSecond = orDefault(l.LoginMessagesPerSecond, d.LoginMessagesPerSecond, float64(rate.Inf))
	l.LoginMessageBurst = orDefault(l.LoginMessageBurst, d.LoginMessageBurst, 1)
	l.MaxQueuedBytes = orDefault(l.MaxQueuedBytes, d.MaxQueuedBytes, 0)
	return l
}

func orDefault[T int | float64 | time.Duration](v, def, none T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return none
	}
	return v
}

// logUploadsPerJoin scales the sockets' per-address rate to the log
// uploads': every joined page uploads its log lines every 2 s, so a school
// joining at the sockets' 50 a second holds 500 pages that upload 250
// times a second, five times the join rate.
const logUploadsPerJoin = 5

// scaledRate is the rate and burst of a one-shot request from the sockets'
// per-address limits, times the requests one join brings (a schedule is
// one), counted in trtcd_refused_total{listener=name}. A rate that is off
// (0 once resolved) stays off.
func scaledRate(sockets limit.Config, times float64, name string) limit.Config {
	return limit.Config{PerSecond: sockets.PerSecond * times, Burst: int(float64(sockets.Burst) * times), Name: name}
}

// refuseUpgrade answers a socket over its address's limits before the
// upgrade, which costs nothing to hold. A browser does not show the SDK the
// answer (only that the socket failed to open); the SDK retries with a
// backoff, which is what a limit wants. Other clients read the code.
func (h *Handler) refuseUpgrade(w http.ResponseWriter, r *http.Request, err error) {
	msg := "too many connections from this address"
	switch {
	case errors.Is(err, limit.ErrRate):
		msg = "too many new connections per second from this address"
	case errors.Is(err, limit.ErrTotal):
		msg = err.Error()
	}
	h.gateLog.log(h.log(), slog.LevelWarn, "signalling socket refused", "addr", limit.Key(r.RemoteAddr), "why", msg)
	w.Header().Set("Content-Type", "application/json")
	cors(w)
	w.WriteHeader(http.StatusTooManyRequests)
	json.NewEncoder(w).Encode(map[string]any{"code": trtc.CodeRateLimited, "message": msg})
}

// sampledLog keeps a line that a client can cause at will (a refused
// command, a refused socket) to one a second for the whole handler; the
// lines left out are counted in the next one. Otherwise 20,000 refused
// frames write 20,000 lines.
type sampledLog struct {
	mu      sync.Mutex
	next    time.Time
	skipped int
}

const sampleEvery = time.Second

func (s *sampledLog) log(l *slog.Logger, level slog.Level, msg string, args ...any) {
	if !l.Enabled(context.Background(), level) {
		return
	}
	s.mu.Lock()
	now := time.Now()
	if now.Before(s.next) {
		s.skipped++
		s.mu.Unlock()
		return
	}
	skipped := s.skipped
	s.skipped, s.next = 0, now.Add(sampleEvery)
	s.mu.Unlock()
	if skipped > 0 {
		args = append(args, "alike_not_logged", skipped)
	}
	l.Log(context.Background(), level, msg, args...)
}

// closeReason is a close frame's reason: the TRTC code first, so that a
// client can read it, within the 123 bytes a close frame allows.
func closeReason(e *trtc.Error) string {
	s := fmt.Sprintf("%d %s", e.Code, e.Message)
	if len(s) > maxCloseReason {
		s = s[:maxCloseReason]
	}
	return s
}

const maxCloseReason = 123
