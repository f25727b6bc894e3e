package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testredis"
)

// clusterStatusOf runs the trtcd binary's `cluster status`.
func clusterStatusOf(t *testing.T, redisURL string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "cluster", "status", "--redis", redisURL)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// An operator starts two nodes as docs/cluster.md says; `trtcd cluster
// status` lists both with the addresses they serve on; each node's
// /metrics has the relay's figures; when Redis does not answer the
// command says so, once, and exits 1.
func TestClusterStatusShowsTheNodesAnOperatorStarted(t *testing.T) {
	redisURL := testredis.Start(t)
	nodes := startNodes(t, redisURL, 1400000001, "cluster-status-key", "a", "b")

	stdout, stderr, code := clusterStatusOf(t, redisURL)
	if code != exitOK {
		t.Fatalf("cluster status: exit %d\n%s", code, stderr)
	}
	t.Logf("\n%s", stdout)
	if !strings.Contains(stdout, "NODES (2)") || !strings.Contains(stdout, "ROOMS (0)") {
		t.Errorf("status does not count two nodes and no room:\n%s", stdout)
	}
	for id, node := range nodes {
		if !hasRow(stdout, id, node.addr) {
			t.Errorf("status lacks node %s at %s", id, node.addr)
		}
		if _, metrics := get(t, "http://"+node.addr+"/metrics"); !strings.Contains(metrics, `trtcd_cluster_relay_connections{side="dialed"} 0`) ||
			!strings.Contains(metrics, `trtcd_cluster_relayed_packets_total{direction="in"} 0`) {
			t.Errorf("node %s's /metrics lacks the relay's figures", id)
		}
	}

	const down = "redis://127.0.0.1:1/0" // nothing listens on port 1
	stdout, stderr, code = clusterStatusOf(t, down)
	if code != exitFail || !strings.Contains(stderr, "Redis at "+down+" does not answer") || stdout != "" {
		t.Errorf("without Redis: exit %d, stdout %q, stderr %q; want 1 and a message", code, stdout, stderr)
	}
	if strings.Count(stderr, "\n") != 1 {
		t.Errorf("without Redis the command should say so once:\n%s", stderr)
	}
}

// hasRow reports whether text has a line that starts with the word first
// and holds s.
func hasRow(text, first, s string) bool {
	for line := range strings.Lines(text) {
		if f := strings.Fields(line); len(f) > 0 && f[0] == first && strings.Contains(line, s) {
			return true
		}
	}
	return false
}

func TestClusterStatusNeedsARedisURL(t *testing.T) {
	t.Setenv("TRTCD_REDIS", "")
	var out, errOut strings.Builder
	if code := run([]string{"cluster", "status"}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "--redis is required") {
		t.Fatalf("status without --redis: exit %d, %q", code, errOut.String())
	}
	if code := run([]string{"cluster", "status", "--redis", "http://x"}, &out, &errOut); code != exitUsage {
		t.Fatalf("status with a URL that is not Redis's: exit %d, %q", code, errOut.String())
	}
}
