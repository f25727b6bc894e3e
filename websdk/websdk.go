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

	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/signaling"
)

// Prefix is where the Web SDK endpoints live. Every proxy form of the SDK
// appends its own paths to what it is given, so one prefix serves them all:
// websocketProxy "wss://host/websdk", scheduleProxy, loggerProxy and
// unifiedProxy "host/websdk".
const Prefix = "/websdk"

// Handler serves the Web SDK's endpoints.
type Handler struct {
	Apps    *signaling.Apps
	Rooms   *signaling.Registry
	SFU     *sfu.SFU
	Bitrate signaling.BitrateLimits // zero: signaling.DefaultBitrateLimits
	Logger  *slog.Logger
	Now     func() time.Time // for tests; time.Now when nil

	once     sync.Once
	upgrader websocket.Upgrader
}

// Register adds the Web SDK routes to mux. The schedule and log paths are
// also served without the prefix, as the SDK asks Tencent's hosts for them:
// a scheduleProxy or loggerProxy of just "host:port" then works too.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("GET "+Prefix, h)
	mux.Handle("GET "+Prefix+"/{$}", h)
	for _, p := range []string{"", Prefix} {
		mux.HandleFunc("POST "+p+"/api/v1/config", h.schedule)
		mux.HandleFunc("POST "+p+"/v5/AVQualityReportSvc/C2S", h.logs)
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

func (h *Handler) bitrate() signaling.BitrateLimits {
	if h.Bitrate == (signaling.BitrateLimits{}) {
		return signaling.DefaultBitrateLimits
	}
	return h.Bitrate
}

// ServeHTTP upgrades the SDK's signalling WebSocket. The SDK puts its
// credentials in the query (sdkAppId, userId, userSig); they are checked at
// join, with the room and privateMapKey the join frame brings.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(func() {
		// The page is the application's, on its own origin; the userSig,
		// not a cookie, authenticates.
		h.upgrader.CheckOrigin = func(*http.Request) bool { return true }
	})
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	c := newConn(h, ws, r)
	c.run()
}
