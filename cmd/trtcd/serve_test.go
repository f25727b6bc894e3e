package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testlog"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// binary is trtcd built once for the tests that run it as a real process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "trtcd-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "trtcd")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runningServer is a `trtcd serve` process.
type runningServer struct {
	cmd            *exec.Cmd
	addr           string
	stdout, stderr *testlog.Buffer
	stderrRead     chan struct{} // closed when stderr reached its end
}

var listening = regexp.MustCompile(`msg="http listening" addr=(\S+)`)

func startServe(t *testing.T, args ...string) *runningServer {
	t.Helper()
	s := &runningServer{stdout: &testlog.Buffer{}, stderr: &testlog.Buffer{}, stderrRead: make(chan struct{})}
	s.cmd = exec.Command(binary, append([]string{"serve", "--http", "127.0.0.1:0", "--udp", "0", "--rtmp", "0"}, args...)...)
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // no TRTCD_* from the developer's shell
	s.cmd.Stdout = s.stdout
	pipe, _ := s.cmd.StderrPipe()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		defer close(s.stderrRead)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			s.stderr.Write([]byte(sc.Text() + "\n"))
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case s.addr = <-found:
	case <-time.After(30 * time.Second):
		t.Fatalf("trtcd serve did not start listening; stderr:\n%s", s.stderr)
	}
	return s
}

// stop sends SIGTERM and expects a clean exit.
func (s *runningServer) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() {
		// Read stderr to its end before Wait, which closes the pipe and
		// would lose the last lines ("stopped").
		select {
		case <-s.stderrRead:
		case <-time.After(15 * time.Second):
		}
		done <- s.cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("trtcd serve exited with %v after SIGTERM; stderr:\n%s", err, s.stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("trtcd serve did not stop after SIGTERM")
	}
	if !strings.Contains(s.stderr.String(), "msg=stopped") {
		t.Fatalf("no graceful shutdown in the log:\n%s", s.stderr)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var (
	bannerApp = regexp.MustCompile(`sdkAppId\s+(\d+)`)
	bannerKey = regexp.MustCompile(`key\s+([0-9a-f]{64})`)
	bannerSig = regexp.MustCompile(`valid [^:]+:\s+(\S+)`)
)

// A newcomer runs `trtcd serve` with nothing configured: it starts on
// loopback, prints a development app and a userSig that works, answers
// /healthz and /metrics, stops cleanly on SIGTERM, and keeps its app.
func TestServeWithNoConfigurationIsReadyToTry(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	s := startServe(t, "--data", data)
	if !strings.HasPrefix(s.addr, "127.0.0.1:") {
		t.Fatalf("listening on %s, want loopback", s.addr)
	}
	if code, body := get(t, "http://"+s.addr+"/healthz"); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	code, body := get(t, "http://"+s.addr+"/metrics")
	if code != 200 || !strings.Contains(body, "trtcd_build_info{") || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics: %d\n%.500s", code, body)
	}
	s.stop(t)

	banner := s.stdout.String()
	app, key, sig := bannerApp.FindStringSubmatch(banner), bannerKey.FindStringSubmatch(banner), bannerSig.FindStringSubmatch(banner)
	if app == nil || key == nil || sig == nil {
		t.Fatalf("the banner lacks the app, key or userSig:\n%s", banner)
	}
	id, _ := strconv.ParseUint(app[1], 10, 32)
	if _, err := tlssig.VerifyUserSig(key[1], uint32(id), "demo", sig[1], time.Now()); err != nil {
		t.Fatalf("the printed userSig does not verify: %v", err)
	}
	if strings.Contains(s.stderr.String(), key[1]) {
		t.Fatal("the log carries the secret key")
	}

	again := startServe(t, "--data", data)
	again.stop(t)
	if !strings.Contains(again.stdout.String(), "sdkAppId  "+app[1]) || !strings.Contains(again.stdout.String(), "loaded from") {
		t.Fatalf("the second start did not reuse the development app:\n%s", again.stdout)
	}
}

// With an app configured there is no development app, and nothing secret is
// printed anywhere.
func TestServeWithConfiguredAppPrintsNoSecret(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, "--data", data, "--app", "1400000001:"+cliKey, "--require-private-map-key")
	s.stop(t)
	if out := s.stdout.String() + s.stderr.String(); strings.Contains(out, cliKey) || strings.Contains(out, "development app") {
		t.Fatalf("output mentions the key or a development app:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(data, devAppFile)); err == nil {
		t.Fatal("a development app was created although an app is configured")
	}
}

func TestServeRefusesBadConfiguration(t *testing.T) {
	cmd := exec.Command(binary, "serve", "--http", "127.0.0.1:0", "--udp", "0", "--rtmp", "0", "--app", "not-an-app")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("bad --app: %v, want exit 2\n%s", err, out)
	}
}

// On a public listener with no app configured, serve does not start a
// development app (whose /dev/usersig would mint tokens for anyone): it
// exits non-zero with a message that says how to configure an app.
func TestServeOnPublicAddressWithoutAppExits(t *testing.T) {
	cmd := exec.Command(binary, "serve", "--http", "0.0.0.0:0", "--udp", "127.0.0.1:0", "--rtmp", "off", "--data", t.TempDir())
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() }) // it would serve forever
	defer timer.Stop()
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("serve --http 0.0.0.0:0 with no app: %v, want exit 1\n%s", err, out)
	}
	for _, want := range []string{"no application configured", "--app SDKAPPID:KEY", "TRTCD_APPS", "--dev"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("the message lacks %q:\n%s", want, out)
		}
	}
}

// --dev serves the development app on a public listener, but /dev/usersig
// never mints a token for the admin identifier, which would open the REST
// and files APIs.
func TestDevOnPublicAddressRefusesAdminUserSig(t *testing.T) {
	s := startServe(t, "--http", "0.0.0.0:0", "--udp", "127.0.0.1:0", "--rtmp", "off", "--dev", "--data", t.TempDir())
	_, port, _ := strings.Cut(s.addr, "]:")
	if port == "" {
		_, port, _ = strings.Cut(s.addr, ":")
	}
	base := "http://127.0.0.1:" + port
	if code, body := get(t, base+"/dev/usersig?userId=administrator"); code != http.StatusForbidden || !strings.Contains(body, `"code":100006`) {
		t.Fatalf("admin userSig: %d %s, want 403 with code 100006", code, body)
	}
	if code, body := get(t, base+"/dev/usersig?userId=alice"); code != 200 || !strings.Contains(body, `"userSig"`) {
		t.Fatalf("a member's userSig: %d %s", code, body)
	}
	s.stop(t)
}
