// Package testways runs the room core and the ways in on a real SFU on
// loopback, for tests: Core is the room core (apps, registry, gate, SFU)
// behind an HTTP server a test mounts its own way in on; Start serves
// every way in at once, for the tests of one that needs another (an
// HTTP-FLV player needs a WHIP publisher) or the whole surface.
//
// It imports testing and the ways in, so only tests link it, and a way
// in's tests import it from an external _test package.
package testways

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/trtcd/trtcd/live"
	"github.com/trtcd/trtcd/restapi"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/whip"
	"github.com/trtcd/trtcd/ws"
)

// Core is the room core on a real SFU, behind an HTTP server that is not
// started: the test registers its routes on Mux, may set the http.Server's
// fields (Config), then calls Start. Everything is closed when the test
// ends.
type Core struct {
	*httptest.Server
	Mux   *http.ServeMux
	Apps  *trtc.Apps // OpenApp and StrictApp
	Rooms *trtc.Registry
	SFU   *sfu.SFU
	Gate  *trtc.Gate
	// Logger writes warnings and errors to stderr; the ways in log there.
	Logger *slog.Logger
}

// NewCore builds a core whose members time out after heartbeat without
// one (0: the default).
func NewCore(t testing.TB, heartbeat time.Duration) *Core {
	t.Helper()
	rooms := trtc.NewRegistry(0, heartbeat)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	media, err := sfu.New(sfu.Config{
		Transport: sfu.TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true},
		Logger:    logger,
		OnTrack: func(room, user string, src sfu.Source, published bool) {
			rooms.Streams(room, user, src.String(), published)
		},
	})
	if err != nil {
		rooms.Close()
		t.Fatal(err)
	}
	apps := Apps(t)
	mux := http.NewServeMux()
	c := &Core{Server: httptest.NewUnstartedServer(mux), Mux: mux, Apps: apps, Rooms: rooms, SFU: media,
		Gate: &trtc.Gate{Apps: apps, Rooms: rooms, Media: media}, Logger: logger}
	t.Cleanup(func() { c.Close(); media.Close(); rooms.Close() })
	return c
}

// Ways is every way in on one core, served.
type Ways struct {
	*Core
	WHIP *whip.Server
	// Live serves HTTP-FLV here; tests that play over RTMP serve it with
	// an rtmp.Server of their own.
	Live *live.Server
	// REST is the application servers' room API (without classrooms
	// unless configure sets them).
	REST *restapi.Server
	// WS is the /ws protocol (without classrooms unless configure calls
	// ServeClasses).
	WS *ws.Server
	// Classes are the classrooms of WS and REST, when served.
	Classes *Classes
	// A way in not listed yet adds its field here, makes it in Start
	// beside the others, and registers it in Start's mount list.
}

// Start serves every way in on a new core (heartbeat as for NewCore).
// configure, when not nil, runs before the server starts: it may set the
// ways' limits, the registry's rules and the http.Server's timeouts
// (w.Config).
func Start(t testing.TB, heartbeat time.Duration, configure func(w *Ways)) *Ways {
	t.Helper()
	c := NewCore(t, heartbeat)
	w := &Ways{Core: c,
		WHIP: &whip.Server{Gate: c.Gate, SFU: c.SFU, Logger: c.Logger},
		Live: &live.Server{Gate: c.Gate, SFU: c.SFU, Logger: c.Logger},
		REST: &restapi.Server{Gate: c.Gate},
		WS:   &ws.Server{Gate: c.Gate, SFU: c.SFU, Logger: c.Logger},
	}
	if configure != nil {
		configure(w)
	}
	for _, way := range []interface{ Register(*http.ServeMux) }{w.WHIP, w.Live, w.REST, w.WS} {
		way.Register(c.Mux)
	}
	c.Start()
	return w
}
