package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trtcd/trtcd/ws"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trtcd.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigDefaultsAreLoopback(t *testing.T) {
	c, err := loadConfig(&serveFlags{}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP != "127.0.0.1:8080" || c.Data != "trtcd-data" || len(c.Apps) != 0 {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestConfigFileThenEnvThenFlags(t *testing.T) {
	path := writeConfig(t, `
http: 127.0.0.1:7000
data: /var/lib/from-file
log_level: debug
apps:
  - sdkappid: 1400000001
    key: file-key
  - sdkappid: 1400000002
    key: file-key-2
    require_private_map_key: true
`)
	env := envOf(map[string]string{
		"TRTCD_DATA":                    "/var/lib/from-env",
		"TRTCD_APPS":                    "1400000002:env-key,1400000003:env-key-3",
		"TRTCD_REQUIRE_PRIVATE_MAP_KEY": "false",
		"TRTCD_LOG_LEVEL":               "warn",
	})
	f := &serveFlags{config: path, http: "127.0.0.1:9000", requirePMK: true}
	if err := f.apps.Set("1400000003:flag-key"); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(f, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP != "127.0.0.1:9000" {
		t.Errorf("http = %s: the flag must win", c.HTTP)
	}
	if c.Data != "/var/lib/from-env" {
		t.Errorf("data = %s: the environment must beat the file", c.Data)
	}
	if c.LogLevel.String() != "WARN" {
		t.Errorf("log level = %s", c.LogLevel)
	}
	want := map[uint32]appConfig{
		1400000001: {SDKAppID: 1400000001, Key: "file-key"},
		1400000002: {SDKAppID: 1400000002, Key: "env-key"},
		1400000003: {SDKAppID: 1400000003, Key: "flag-key", RequirePrivateMapKey: true},
	}
	if len(c.Apps) != len(want) {
		t.Fatalf("apps = %+v", c.Apps)
	}
	for _, a := range c.Apps {
		if w := want[a.SDKAppID]; a.Key != w.Key || a.RequirePrivateMapKey != w.RequirePrivateMapKey {
			t.Errorf("app %d = %+v, want %+v", a.SDKAppID, a, want[a.SDKAppID])
		}
	}
}

func TestConfigMistakesAreClearErrors(t *testing.T) {
	for _, tc := range []struct {
		story string
		flags serveFlags
		env   map[string]string
		want  string
	}{
		{"a misspelt key in the file", serveFlags{config: writeConfig(t, "htp: 1.2.3.4:5\n")}, nil, "field htp not found"},
		{"a missing config file", serveFlags{config: "/nonexistent/trtcd.yaml"}, nil, "no such file"},
		{"a bad app in the environment", serveFlags{}, map[string]string{"TRTCD_APPS": "abc:secret-value"}, "TRTCD_APPS item 1"},
		{"a bad boolean", serveFlags{}, map[string]string{"TRTCD_APPS": "1:k", "TRTCD_REQUIRE_PRIVATE_MAP_KEY": "sure"}, "want true or false"},
		{"a bad log level", serveFlags{logLevel: "loud"}, nil, "log level"},
		{"a callback URL without a key to sign with", serveFlags{callback: "http://127.0.0.1:1/cb"}, nil, "needs a callback_key"},
		{"a callback URL in the file, its key empty", serveFlags{config: writeConfig(t, "record:\n  callback_url: http://127.0.0.1:1/cb\n  callback_key: \"\"\n")},
			nil, "needs a callback_key"},
	} {
		_, err := loadConfig(&tc.flags, envOf(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.story, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-value") {
			t.Errorf("%s: the error leaks the key: %v", tc.story, err)
		}
	}
}

func TestDevAppIsCreatedOnceAndKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	a, created, err := loadOrCreateDevApp(dir)
	if err != nil || !created {
		t.Fatalf("first start: %v created=%v", err, created)
	}
	if a.SDKAppID < 1400000000 || a.SDKAppID > 1499999999 || len(a.Key) != 64 {
		t.Fatalf("dev app = %d with a %d-character key", a.SDKAppID, len(a.Key))
	}
	b, created, err := loadOrCreateDevApp(dir)
	if err != nil || created || b.SDKAppID != a.SDKAppID || b.Key != a.Key {
		t.Fatalf("second start: %+v created=%v err=%v, want the same app", b, created, err)
	}
	info, err := os.Stat(filepath.Join(dir, devAppFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("dev app file: %v mode %v, want 0600", err, info.Mode())
	}
}

func TestConfigRoomAndWebSocketLimits(t *testing.T) {
	path := writeConfig(t, "rooms:\n  capacity: 6\n  heartbeat_timeout: 20s\nwebsocket:\n  max_message_bytes: 32768\n  idle_timeout: 45s\n")
	c, err := loadConfig(&serveFlags{config: path}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	l := c.WS.limits()
	if c.Rooms.Capacity != 6 || c.Rooms.HeartbeatTimeout.Seconds() != 20 || l.MaxMessageBytes != 32768 ||
		l.IdleTimeout.Seconds() != 45 || l.MessagesPerSecond != ws.DefaultLimits.MessagesPerSecond {
		t.Fatalf("rooms %+v, websocket limits %+v", c.Rooms, l)
	}
}

func TestClusterFlagsJoinANodeToADirectory(t *testing.T) {
	c, err := loadConfig(&serveFlags{http: "127.0.0.1:8080", redis: "redis://127.0.0.1:6379/0", nodeID: "a", data: "/srv/trtcd"},
		func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.Redis != "redis://127.0.0.1:6379/0" || c.Cluster.NodeID != "a" || c.Cluster.Relay != "127.0.0.1:7900" ||
		c.Cluster.Certs != "/srv/trtcd/cluster" {
		t.Fatalf("cluster config = %+v", c.Cluster)
	}
	env := map[string]string{"TRTCD_CLUSTER_CERTS": "/etc/trtcd/cluster"}
	if c, _ := loadConfig(&serveFlags{redis: "redis://127.0.0.1:6379/0"}, func(k string) string { return env[k] }); c.Cluster.Certs != "/etc/trtcd/cluster" {
		t.Fatalf("certs from the environment = %q", c.Cluster.Certs)
	}
}

// `trtcd cluster init` writes what `trtcd serve` loads; a node without its
// certificate does not start.
func TestClusterInitWritesWhatANodeLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cluster")
	var out, errOut strings.Builder
	if code := run([]string{"cluster", "init", "--dir", dir, "--nodes", "a, b"}, &out, &errOut); code != exitOK {
		t.Fatalf("init: %d %s", code, errOut.String())
	}
	if code := run([]string{"cluster", "issue", "--dir", dir, "--node", "c"}, &out, &errOut); code != exitOK {
		t.Fatalf("issue: %d %s", code, errOut.String())
	}
	for _, node := range []string{"a", "b", "c"} {
		sc, err := clusterOf(clusterConfig{Redis: "redis://127.0.0.1:1/0", NodeID: node, Certs: dir})
		if err != nil || sc.Credentials == nil || sc.Credentials.Node != node {
			t.Fatalf("node %s: %+v, %v", node, sc, err)
		}
	}
	if _, err := clusterOf(clusterConfig{Redis: "redis://127.0.0.1:1/0", NodeID: "d", Certs: dir}); err == nil {
		t.Fatal("node d loaded a certificate never issued")
	}
	if code := run([]string{"cluster", "init"}, &out, &errOut); code != exitUsage {
		t.Fatalf("init without --dir: exit %d", code)
	}
}

// The README's configuration block is a working file: every key it
// documents is one trtcd reads, and its limits reach the server.
// The media port's workers come from media.workers, then
// $TRTCD_MEDIA_WORKERS, then --media-workers; 0 leaves the SFU's default.
func TestMediaWorkersFromFileEnvAndFlag(t *testing.T) {
	file := writeConfig(t, "media: {workers: 3}\n")
	for _, tc := range []struct {
		story string
		flags serveFlags
		env   map[string]string
		want  int
	}{
		{"nothing said", serveFlags{}, nil, 0},
		{"the file", serveFlags{config: file}, nil, 3},
		{"the environment over the file", serveFlags{config: file}, map[string]string{"TRTCD_MEDIA_WORKERS": "2"}, 2},
		{"the flag over both", serveFlags{config: file, workers: 4}, map[string]string{"TRTCD_MEDIA_WORKERS": "2"}, 4},
	} {
		c, err := loadConfig(&tc.flags, envOf(tc.env))
		if err != nil || c.MediaWorkers != tc.want {
			t.Errorf("%s: %d workers (%v), want %d", tc.story, c.MediaWorkers, err, tc.want)
		}
	}
	for _, bad := range []struct {
		flags serveFlags
		env   map[string]string
	}{{serveFlags{workers: -1}, nil}, {serveFlags{}, map[string]string{"TRTCD_MEDIA_WORKERS": "many"}}} {
		if _, err := loadConfig(&bad.flags, envOf(bad.env)); err == nil || !strings.Contains(err.Error(), "workers") && !strings.Contains(err.Error(), "WORKERS") {
			t.Errorf("flags %+v, env %v: error %v, want one about the workers", bad.flags, bad.env, err)
		}
	}
}

func TestREADMEConfigurationBlockLoads(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```yaml\n# trtcd.yaml\n")
	block, _, _ = strings.Cut(block, "```")
	if !ok || block == "" {
		t.Fatal("README has no ```yaml # trtcd.yaml block")
	}
	c, err := loadConfig(&serveFlags{config: writeConfig(t, block)}, envOf(nil))
	if err != nil {
		t.Fatalf("the README's configuration does not load: %v", err)
	}
	l := c.Limits.server()
	if l.WHIP.PerSecond != 50 || l.WHIP.Burst != 200 || l.FLV.Connections != 500 || l.WebSDK.Name != "websdk" ||
		l.HTTPConnections != 2000 || l.LoginTimeout.Seconds() != 10 || l.ViewersPerUser != 50 || l.PublishKbps != 20000 ||
		l.ICETCP.Connections != 500 || l.ICETCP.Name != "ice_tcp" || l.ICETCP.Total != 5000 || l.HTTPTotal != 10000 {
		t.Fatalf("limits from the README: %+v", l)
	}
}
