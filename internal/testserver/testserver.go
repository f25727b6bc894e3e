// Package testserver runs a whole trtcd inside the test's process, on
// loopback, for the tests and benchmarks that drive it from outside (e2e,
// bench) without building and starting the binary.
package testserver

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/trtcd/trtcd/server"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
)

// Config is a trtcd for one app: HTTP, RTMP and UDP media on ports the
// system picks on 127.0.0.1, a data directory the test removes, warnings
// and errors logged to stderr. Callers change what their test needs.
func Config(t testing.TB, app uint32, key string) server.Config {
	t.Helper()
	apps, err := trtc.NewApps(trtc.App{SDKAppID: app, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return server.Config{
		HTTPAddr: "127.0.0.1:0",
		RTMPAddr: "127.0.0.1:0",
		DataDir:  t.TempDir(),
		Apps:     apps,
		Media:    sfu.TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true},
		Version:  "test",
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

// Start starts a trtcd with cfg and shuts it down when the test ends.
func Start(t testing.TB, cfg server.Config) *server.Server {
	t.Helper()
	srv, err := server.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv
}
