// Package websdk lets Tencent's official TRTC Web SDK (trtc-js-sdk 4.x)
// join trtcd: the application points the SDK at trtcd with
// client.setProxyServer(...), and trtcd answers the SDK's schedule, log and
// signalling requests, mapping them onto trtcd's room registry (the same
// userSig, privateMapKey and room rules as every entry point) and its SFU.
// docs/trtc-web-sdk.md describes the protocol.
package websdk

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
)

// Prefix is where the Web SDK endpoints live. Every proxy form of the SDK
// appends its own paths to what it is given, so one prefix serves them all:
// websocketProxy "wss://host/websdk", scheduleProxy, loggerProxy and
// unifiedProxy "host/websdk".
const Prefix = "/websdk"

// Handler serves the Web SDK's endpoints.
type Handler struct {
	Gate    *trtc.Gate
	SFU     *sfu.SFU
	Bitrate wayin.BitrateLimits // zero: wayin.DefaultBitrateLimits
	Limits  Limits              // zero: DefaultLimits
	Logger  *slog.Logger
	Now     func() time.Time // for tests; time.Now when nil

	once   sync.Once
	limits Limits      // Limits with its defaults, fixed at Register
	gate   *limit.Gate // sockets
	// schedules and logUploads ration the SDK's HTTP requests per address:
	// each may cost a directory round trip (Rooms.Place) or a body read.
	schedules, logUploads *limit.Gate
	upgrader              websocket.Upgrader

	gateLog, refusedLog, floodLog sampledLog
	// inlineMedia runs media commands on the read loop, in step with the
	// frames (the fuzz target: one goroutine, and a panic reaches it).
	inlineMedia bool
	negotiation time.Duration // zero: negotiationTimeout; the fuzz target's is short
}

// Register adds the Web SDK routes to mux. The schedule and log paths are
// also served without the prefix, as the SDK asks Tencent's hosts for them:
// a scheduleProxy or loggerProxy of just "host:port" then works too.
func (h *Handler) Register(mux *http.ServeMux) {
	h.once.Do(h.init)
	mux.Handle("GET "+Prefix, h)
	mux.Handle("GET "+Prefix+"/{$}", h)
	for _, p := range []string{"", Prefix} {
		mux.HandleFunc("POST "+p+"/api/v1/config", wayin.RateLimited(h.schedules, h.schedule))
		mux.HandleFunc("POST "+p+"/v5/AVQualityReportSvc/C2S", wayin.RateLimited(h.logUploads, h.logs))
		mux.HandleFunc("OPTIONS "+p+"/api/v1/config", preflight)
		mux.HandleFunc("OPTIONS "+p+"/v5/AVQualityReportSvc/C2S", preflight)
	}
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) log() *slog.Logger {
	if h.Logger == nil {
		return slog.Default().With("component", "websdk")
	}
	return h.Logger.With("component", "websdk")
}

func (h *Handler) bitrate() wayin.BitrateLimits {
	if h.Bitrate == (wayin.BitrateLimits{}) {
		return wayin.DefaultBitrateLimits
	}
	return h.Bitrate
}

// ServeHTTP upgrades the SDK's signalling WebSocket. The SDK puts its
// credentials in the query (sdkAppId, userId, userSig); they are checked at
// join, with the room and privateMapKey the join frame brings.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(h.init)
	leave, err := h.gate.Enter(r.RemoteAddr)
	if err != nil {
		h.refuseUpgrade(w, r, err)
		return
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		leave()
		return // the upgrader answered
	}
	c := newConn(h, ws, ws.RemoteAddr().String(), r.URL.Query())
	// A goroutine of its own, not this one: net/http keeps the request, its
	// 8 KB of buffers and this deep stack while this handler runs. Until
	// login the socket then costs one small goroutine and a read buffer.
	go c.serve(ws, leave)
}

// Socket buffers. Reads go through a small buffer of each socket's own (a
// frame larger than it is read in pieces); writes borrow a buffer from a
// pool only while they write, so an idle socket holds none.
const (
	readBufferSize  = 1 << 10
	writeBufferSize = 4 << 10
)

func (h *Handler) init() {
	h.limits = h.Limits.resolved()
	h.gate = limit.NewGate(h.limits.PerAddress)
	h.schedules = limit.NewGate(scaledRate(h.limits.PerAddress, 1, "websdk_schedule"))
	h.logUploads = limit.NewGate(scaledRate(h.limits.PerAddress, logUploadsPerJoin, "websdk_logs"))
	h.upgrader = websocket.Upgrader{
		ReadBufferSize: readBufferSize, WriteBufferSize: writeBufferSize, WriteBufferPool: &sync.Pool{},
		// The page is the application's, on its own origin; the userSig,
		// not a cookie, authenticates.
		CheckOrigin: func(*http.Request) bool { return true },
	}
}
