package cluster_test

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/testpeer"
)

// The relay link between two nodes goes down five times in 15 s: each time
// the viewer on B plays again, over one connection; when the nodes stop,
// their goroutines, sockets and directory entries are gone.
func TestARelayLinkThatFlapsRecoversAndLeavesNothingBehind(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	fds := openFiles(t)
	t.Cleanup(func() { // runs last: after the clients, the nodes and Redis stop
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, leaks)
		if n := openFiles(t); n > fds {
			t.Errorf("%d files open after the test, %d before: sockets leaked", n, fds)
		}
	})
	redisURL := cluster.StartRedis(t)
	a := startNode(t, redisURL, "node-a")
	b := startNode(t, redisURL, "node-b")
	got, _ := watchAcross(t, a, b, "4714")
	video := got["video"]
	testpeer.WaitFor(t, "video on B", 5*time.Second, func() bool { return video.Packets() > 0 })

	for i := range 5 {
		before := video.Packets()
		a.Cluster().DropRelayConnections()
		testpeer.WaitFor(t, "video on B after the link went down", 5*time.Second, func() bool {
			return video.Packets() > before+20
		})
		if peers := b.Cluster().PeerStats(); len(peers) != 1 {
			t.Fatalf("flap %d: B has %d relay connections, want 1: %+v", i, len(peers), peers)
		}
		time.Sleep(time.Second)
	}
	t.Logf("longest pause at the viewer: %s", video.Pause())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.Shutdown(ctx)
	b.Shutdown(ctx)
	dir, err := cluster.NewDirectory(redisURL, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	if nodes, err := dir.Nodes(ctx); err != nil || len(nodes) != 0 {
		t.Errorf("the directory lists %+v after both nodes stopped (%v)", nodes, err)
	}
}

// openFiles counts the process's open file descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd here")
	}
	return len(fds)
}
