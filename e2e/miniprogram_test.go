package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testlog"
	"github.com/trtcd/trtcd/server"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// The mini-program tests run the Node scenarios of miniprogram/test: the
// real components in WeChat's component simulator (miniprogram-simulate on
// jsdom), with wx.request and wx.connectSocket over real HTTP and WebSocket
// to an in-process trtcd and ffmpeg in place of <live-pusher> and
// <live-player> (miniprogram/test/harness.js). Each scenario is a Node
// program: exit code 0 is a pass, and its output is shown on a failure.

// miniprogramPackages is what the harness needs from npm, pinned.
var miniprogramPackages = []string{"miniprogram-simulate@1.6.2", "miniprogram-compiler@0.2.3", "jsdom@24.1.3", "ws@8.18.3"}

// scenarioTimeout bounds one Node scenario (each gives itself less).
const scenarioTimeout = 90 * time.Second

// miniprogram is what a scenario runs against: a trtcd and the app backend
// that mints credentials for it.
type miniprogram struct {
	srv      *server.Server
	key      string // the app's key (a forged credential uses another)
	nodePath string
	backend  string
	stopOnce sync.Once
	// link, when set, is the network the clients reach trtcd through
	// (TRTCD_HTTP names its side).
	link *netLink
}

// startMiniprogram installs the harness's packages (once for all the
// tests), starts the app backend for srv's app and checks node and ffmpeg.
func startMiniprogram(t *testing.T, srv *server.Server, key string) *miniprogram {
	t.Helper()
	return startMiniprogramVia(t, srv, key, nil)
}

// startMiniprogramVia is startMiniprogram with the clients reaching trtcd
// through link.
func startMiniprogramVia(t *testing.T, srv *server.Server, key string, link *netLink) *miniprogram {
	t.Helper()
	requireFFmpeg(t)
	requireNPM(t, "node", "the mini-program tests run the WeChat component simulator in Node")
	mp := &miniprogram{srv: srv, key: key, link: link}
	mp.nodePath = filepath.Join(npmPackages(t, "the mini-program tests install miniprogram-simulate with it", miniprogramPackages...), "node_modules")
	backend := httptest.NewServer(mp.routes())
	t.Cleanup(backend.Close)
	mp.backend = backend.URL
	return mp
}

// routes is the mini program's app backend, as a real one would run next
// to trtcd (it holds the key and mints credentials), plus the test's one
// controls: cutting and restoring the network to trtcd, stopping trtcd.
//
//	GET  /credentials?userId=&roomId=&privateMapKey=valid|expired|forged|none
//	POST /network/cut, POST /network/restore
//	POST /shutdown
func (mp *miniprogram) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /credentials", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		user := q.Get("userId")
		now := time.Now()
		out := map[string]any{"sdkAppId": app, "userId": user, "userSig": tlssig.GenUserSig(mp.key, app, user, time.Hour, now)}
		if room, err := strconv.ParseUint(q.Get("roomId"), 10, 32); err == nil && room > 0 {
			key, start := mp.key, now
			switch q.Get("privateMapKey") {
			case "none":
				key = ""
			case "expired":
				start = now.Add(-2 * time.Hour)
			case "forged":
				key = strings.Repeat("0", 64)
			}
			if key != "" {
				out["privateMapKey"] = tlssig.GenPrivateMapKey(key, app, user, time.Hour, start, tlssig.Room{ID: uint32(room)}, tlssig.PrivAll)
			}
		}
		json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("POST /network/{action}", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case mp.link == nil:
			http.Error(w, "no network link in this test", http.StatusNotFound)
		case r.PathValue("action") == "cut":
			mp.link.cut()
		case r.PathValue("action") == "restore":
			if err := mp.link.restore(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		default:
			http.NotFound(w, r)
		}
	})
	mux.HandleFunc("POST /shutdown", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		go mp.stopOnce.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			mp.srv.Shutdown(ctx)
		})
	})
	return mux
}

// scenario is a running Node scenario.
type scenario struct {
	cmd    *exec.Cmd
	output testlog.Buffer // stdout and stderr, one writer so exec copies both on one goroutine
	stdin  io.WriteCloser
	done   chan error
}

// start runs node miniprogram/test/<file>; env adds variables.
func (mp *miniprogram) start(t *testing.T, file string, env ...string) *scenario {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	s := &scenario{cmd: exec.CommandContext(ctx, "node", filepath.Join("..", "miniprogram", "test", file)), done: make(chan error, 1)}
	// SIGTERM lets the harness end its ffmpeg processes before it exits.
	s.cmd.Cancel = func() error { return s.cmd.Process.Signal(syscall.SIGTERM) }
	s.cmd.WaitDelay = 5 * time.Second
	host := mp.srv.HTTPAddr().String()
	if mp.link != nil {
		_, port, _ := net.SplitHostPort(host)
		host = "127.0.0.2:" + port
	}
	s.cmd.Env = append(os.Environ(), "NODE_PATH="+mp.nodePath, "TRTCD_HTTP=http://"+host,
		"TRTCD_BACKEND="+mp.backend, "TRTCD_APP="+strconv.Itoa(app))
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stdout, s.cmd.Stderr = &s.output, &s.output
	stdin, err := s.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.stdin = stdin
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		cancel() // a scenario still running when the test ends (it failed) is stopped
		<-s.done
		s.done <- nil
	})
	return s
}

// wait waits for the scenario to end and fails the test with its output
// unless it passed.
func (s *scenario) wait(t *testing.T) {
	t.Helper()
	err := <-s.done
	s.done <- err
	out := s.text()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", s.cmd.Args[1], err, out)
	}
	t.Logf("node %s:\n%s", s.cmd.Args[1], out)
}

func (s *scenario) text() string { return s.output.String() }

// waitLine waits until the scenario prints a line starting with prefix,
// failing if it ends first.
func (s *scenario) waitLine(t *testing.T, prefix string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for !strings.Contains("\n"+s.text(), "\n"+prefix) {
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("node %s ended (%v) before printing %q:\n%s", s.cmd.Args[1], err, prefix, s.text())
		case <-deadline:
			t.Fatalf("node %s did not print %q within %s:\n%s", s.cmd.Args[1], prefix, d, s.text())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// (a) Two webrtc-room components in a 1v1bigsmall room see each other:
// each one's player decodes the other's video and hears its tone, over RTMP
// for one and HTTP-FLV for the other, and the member list and its changes
// arrive as SUCC_MEMBERS_LIST.
func TestMiniProgramWebRTCRoomOneToOne(t *testing.T) {
	mp := startMiniprogram(t, startTrtcd(t), appKey)
	mp.start(t, "webrtc_room_1v1.js").wait(t)
}

// (e) Error paths through the component's events, with the seed's codes:
// the room signature refused (80 without a privateMapKey on an app that
// requires one, 86 expired, 87 forged), a third member of a 1v1 room,
// devices that fail, and the server going away.
func TestMiniProgramWebRTCRoomErrors(t *testing.T) {
	srv := startTrtcdWith(t, func(c *server.Config) {
		apps, err := trtc.NewApps(trtc.App{SDKAppID: app, Key: appKey, RequirePrivateMapKey: true})
		if err != nil {
			t.Fatal(err)
		}
		c.Apps = apps
	})
	mp := startMiniprogram(t, srv, appKey)
	mp.start(t, "webrtc_room_errors.js").wait(t)
}

// (e) The server going away, as clients see it: first the network to it is
// cut (a crash, a lost route: no goodbye), then, once the two components
// are back in their call, trtcd shuts down. Both times each component
// reports NETWORK_CHANGE while it reconnects, then ERROR_PUSH_DISCONNECT,
// and loses the other member (PLAYER_DISCONNECT when nothing was said).
func TestMiniProgramWebRTCRoomServerGone(t *testing.T) {
	srv := startTrtcd(t)
	mp := startMiniprogramVia(t, srv, appKey, linkTo(t, srv.HTTPAddr(), srv.RTMPAddr()))
	mp.start(t, "webrtc_room_server_gone.js").wait(t)
}

// (b) is in miniprogram_browser_test.go.

// The project is one WeChat DevTools opens: project.config.json names an
// appid and the project type, every page app.json lists and every
// component a usingComponents names has its four files, and the index
// page (loaded in the simulator, with the official WXML compiler compiling
// every page and component of the project) opens the call and the
// classroom.
func TestMiniProgramProject(t *testing.T) {
	root := filepath.Join("..", "miniprogram")
	var project struct {
		AppID, CompileType string
	}
	readJSON(t, filepath.Join(root, "project.config.json"), &project)
	if project.AppID == "" || project.CompileType != "miniprogram" {
		t.Fatalf("project.config.json: appid %q, compileType %q", project.AppID, project.CompileType)
	}
	var appJSON struct {
		Pages           []string
		SitemapLocation string
	}
	readJSON(t, filepath.Join(root, "app.json"), &appJSON)
	if _, err := os.Stat(filepath.Join(root, appJSON.SitemapLocation)); err != nil {
		t.Error(err)
	}
	for _, p := range appJSON.Pages {
		checkComponentFiles(t, root, filepath.Join(root, p))
	}
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".json" || strings.Contains(path, string(filepath.Separator)+"test"+string(filepath.Separator)) {
			return err
		}
		var c struct{ UsingComponents map[string]string }
		readJSON(t, path, &c)
		for tag, using := range c.UsingComponents {
			target := filepath.Join(filepath.Dir(path), using)
			if strings.HasPrefix(using, "/") {
				target = filepath.Join(root, using)
			}
			t.Logf("%s uses <%s> from %s", path, tag, using)
			checkComponentFiles(t, root, target)
		}
		return nil
	})
	mp := startMiniprogram(t, startTrtcd(t), appKey)
	mp.start(t, "index_page.js").wait(t)
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// checkComponentFiles: a page or component is four files.
func checkComponentFiles(t *testing.T, root, base string) {
	t.Helper()
	for _, ext := range []string{".js", ".json", ".wxml", ".wxss"} {
		if _, err := os.Stat(base + ext); err != nil {
			rel, _ := filepath.Rel(root, base+ext)
			t.Errorf("the mini program lacks %s", rel)
		}
	}
}
