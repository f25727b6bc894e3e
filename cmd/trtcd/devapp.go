package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

// The development app exists so that `trtcd serve` with no configuration at
// all is usable at once. It is created on first start with a random id and
// key, kept in the data directory, and reused afterwards.
const (
	devAppFile  = "dev-app.json"
	devUser     = "demo"
	devSigValid = 24 * time.Hour
)

// errNoApp is what a server with no app and a public listener says: the
// development app's /dev/usersig mints tokens for anyone who can reach it,
// so it never serves beyond loopback unless asked to with --dev.
var errNoApp = errors.New(`no application configured, and the development app only serves on loopback.
Configure your TRTC application (the sdkAppId and secret key from the console) with one of:
  --app SDKAPPID:KEY                 (repeatable)
  TRTCD_APPS=SDKAPPID:KEY[,...]      (environment; e.g. docker run -e TRTCD_APPS=...)
  apps: [{sdkappid: N, key: KEY}]    (in a --config file)
or pass --dev to serve the development app on this address anyway (never in production: anyone who
reaches the server can mint userSigs for it)`)

// devAllowed reports whether the development app may serve: on loopback
// listeners only, or when --dev (or TRTCD_DEV) asks for it explicitly.
func (c *serveConfig) devAllowed() error {
	if c.Dev {
		return nil
	}
	for _, addr := range []string{c.HTTP, c.HTTPS} {
		if addr != "" && !isLoopbackAddr(addr) {
			return errNoApp
		}
	}
	return nil
}

// isLoopbackAddr: a host:port whose host is a loopback IP or localhost.
// An empty host (":8080") listens on every interface, so it is not.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

func loadOrCreateDevApp(dataDir string) (app appConfig, created bool, err error) {
	path := filepath.Join(dataDir, devAppFile)
	data, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(data, &app); err != nil || app.SDKAppID == 0 || app.Key == "" {
			return appConfig{}, false, fmt.Errorf("%s is damaged; delete it to make a new development app", path)
		}
		return app, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return appConfig{}, false, err
	}
	app, err = newDevApp()
	if err != nil {
		return appConfig{}, false, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return appConfig{}, false, fmt.Errorf("data directory: %w", err)
	}
	data, _ = json.MarshalIndent(app, "", "  ")
	if err := writeFileAtomic(path, data, 0o600); err != nil {
		return appConfig{}, false, err
	}
	return app, true, nil
}

// newDevApp picks an id in the 1400000000–1499999999 range real TRTC apps
// use, and a key shaped like a console key (64 hex characters).
func newDevApp() (appConfig, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return appConfig{}, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return appConfig{}, err
	}
	return appConfig{SDKAppID: 1_400_000_000 + uint32(n.Int64()), Key: hex.EncodeToString(key)}, nil
}

// writeFileAtomic writes to a temporary file and renames it, so a crash
// never leaves a half-written file behind.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// printDevApp tells a newcomer everything needed to try the server. It goes
// to stdout, not the log: the log never carries secrets, and this key only
// guards a development server on loopback.
func printDevApp(w io.Writer, app appConfig, path string, created bool, httpAddr string) {
	how := "loaded from"
	if created {
		how = "created in"
	}
	sig := tlssig.GenUserSig(app.Key, app.SDKAppID, devUser, devSigValid, time.Now())
	fmt.Fprintf(w, "\ntrtcd is running with its development app (%s %s; keep it private).\n", how, path)
	fmt.Fprintf(w, "  sdkAppId  %d\n  key       %s\n", app.SDKAppID, app.Key)
	fmt.Fprintf(w, "  userSig   for userId %q, valid %s:\n            %s\n\n", devUser, devSigValid, sig)
	fmt.Fprintf(w, "  Demo:      http://%s/   (open it twice for a 1v1 call; the page shows the invite link)\n", httpAddr)
	fmt.Fprintf(w, "  Classroom: http://%s/classroom.html?classId=3101&role=teacher   (students: role=student)\n", httpAddr)
	fmt.Fprintf(w, "  Health:    http://%s/healthz\n", httpAddr)
	fmt.Fprintf(w, "  Publish:   WHIP POST http://%s/whip/%d/<roomId>/<userId>  (Authorization: Bearer <userSig>)\n", httpAddr, app.SDKAppID)
	fmt.Fprintf(w, "  Play:      WHEP POST http://%s/whep/%d/<roomId>/<publisherId>?userId=<viewerId>\n", httpAddr, app.SDKAppID)
	fmt.Fprintf(w, "  Mint more: trtcd sig gen usersig --sdkappid %d --key <key> --userid <id>\n", app.SDKAppID)
	fmt.Fprintf(w, "  Configure real apps with --app SDKAPPID:KEY, $TRTCD_APPS or a --config file.\n\n")
}
