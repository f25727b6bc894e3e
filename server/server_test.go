package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trtcd/trtcd/internal/testserver"
	"github.com/trtcd/trtcd/server"
)

const (
	app = 1400000001
	key = "9d3c0f5e1b7a4c2d8e6f0a1b3c5d7e9f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c1d"
)

// A server whose last components cannot open (a TLS certificate that is
// not there) closes what it had opened: no goroutine is left, and the data
// directory's database is free for the next start.
func TestAHalfBuiltServerClosesWhatItOpened(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := testserver.Config(t, app, key)
	cfg.HTTPSAddr = "127.0.0.1:0"
	cfg.TLSCert, cfg.TLSKey = filepath.Join(t.TempDir(), "missing.pem"), filepath.Join(t.TempDir(), "missing.key")
	if _, err := server.Start(cfg); err == nil || !strings.Contains(err.Error(), "tls certificate") {
		t.Fatalf("Start with a missing certificate: %v, want a tls certificate error", err)
	}
	cfg.HTTPSAddr, cfg.TLSCert, cfg.TLSKey = "", "", ""
	srv, err := server.Start(cfg) // the same data directory: its database was closed
	if err != nil {
		t.Fatal(err)
	}
	shutdown(t, srv)
}

// Shutdown may be called twice; the second call returns the first's
// result and closes nothing again.
func TestShutdownTwice(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := testserver.Config(t, app, key)
	cfg.HTTPSAddr = "127.0.0.1:0" // a self-signed certificate in the data directory
	srv, err := server.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "trtcd.db")); err != nil {
		t.Fatal(err)
	}
	shutdown(t, srv)
	shutdown(t, srv)
}

func shutdown(t *testing.T, srv *server.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}
