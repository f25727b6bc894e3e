package bench

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/testredis"
	"github.com/trtcd/trtcd/server"
)

// A cross-node run publishes every room on node a and plays it from node
// b: all the media arrives through the relay, and the report says where
// the viewers were and that the server figures are both nodes'.
func TestRunCrossNode(t *testing.T) {
	redisURL := testredis.Start(t)
	ca, err := cluster.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	node := func(id string) Target {
		creds, err := ca.Credentials(id)
		if err != nil {
			t.Fatal(err)
		}
		return startTrtcdNode(t, server.ClusterConfig{RedisURL: redisURL, NodeID: id, RelayAddr: "127.0.0.1:0",
			Credentials: creds, Heartbeat: 200 * time.Millisecond, TTL: time.Second})
	}
	a, b := node("a"), node("b")
	target := a
	target.PID, target.ViewURL = 0, b.URL // CPU from both nodes' /metrics
	r, err := Run(context.Background(), Scenario{Target: target, Rooms: 2, Ramp: 10, Duration: 3 * time.Second,
		BitrateKbps: 300, FPS: 15}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	r.WriteTable(&table)
	t.Log("\n" + table.String())
	if r.RoomsUp != 2 || r.DeliveryRatio < 0.99 || r.LatencyMs.Count == 0 {
		t.Fatalf("cross-node delivery: %+v", r)
	}
	if r.ViewTarget != b.URL || !strings.Contains(table.String(), b.URL+" (cross-node") {
		t.Fatalf("the report does not say the viewers were on %s:\n%s", b.URL, table.String())
	}
	if r.Server == nil || !strings.HasSuffix(r.Server.Source, "both nodes") {
		t.Fatalf("server figures: %+v", r.Server)
	}
}

// Viewers reach the view server with trtcd's WHEP path; publishers stay
// on the target.
func TestCrossNodeEndpoints(t *testing.T) {
	tg := Target{URL: "http://a:1", ViewURL: "http://b:2", PID: 1, ViewPID: 2, App: 7}
	v := tg.viewing()
	if got := v.endpoint(tg.WHEP, defaultWHEP, "5", "bob", "al"); got != "http://b:2/whep/7/5/al?userId=bob" || v.PID != 2 {
		t.Fatalf("viewer endpoint %s (pid %d)", got, v.PID)
	}
	if got := tg.endpoint(tg.WHIP, defaultWHIP, "5", "al", "al"); got != "http://a:1/whip/7/5/al" {
		t.Fatalf("publisher endpoint %s", got)
	}
	if same := (Target{URL: "http://a:1", ViewURL: "http://a:1"}); same.CrossNode() {
		t.Fatal("a view URL equal to the target's is not cross-node")
	}
}

// /ws members publish and play on one connection, so a cross-node run
// refuses /ws rooms before dialling anything.
func TestCrossNodeRefusesWSRooms(t *testing.T) {
	sc := Scenario{Target: Target{URL: "http://127.0.0.1:1", ViewURL: "http://127.0.0.1:2", App: 7}, Rooms: 1,
		Duration: time.Second, BitrateKbps: 300, FPS: 15, Mix: Mix{KindWS: 1}, ServerPID: os.Getpid()}
	if _, err := Run(context.Background(), sc, nil); !errors.Is(err, ErrWSCrossNode) {
		t.Fatalf("got %v, want ErrWSCrossNode", err)
	}
}
