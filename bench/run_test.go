package bench

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testserver"
	"github.com/trtcd/trtcd/server"
)

// startTrtcd runs an in-process trtcd for the bench to load.
func startTrtcd(t *testing.T) Target { return startTrtcdNode(t, server.ClusterConfig{}) }

// startTrtcdNode runs an in-process trtcd, a cluster node when c says so.
func startTrtcdNode(t *testing.T, c server.ClusterConfig) Target {
	t.Helper()
	cfg := testserver.Config(t, benchApp, benchKey)
	cfg.Cluster = c
	srv := testserver.Start(t, cfg)
	return Target{URL: "http://" + srv.HTTPAddr().String(), App: benchApp, PID: os.Getpid(), RTMP: "rtmp://" + srv.RTMPAddr().String(),
		Auth: benchAuth}
}

// A capacity search with generous limits holds every level up to the cap,
// and reports at each level and at the knee the packets the server
// forwarded per second and per core of its CPU; its HTML page plots
// server CPU, p99 and loss against the load.
func TestFindCapacityHoldsEasyLevels(t *testing.T) {
	target := startTrtcd(t)
	c, err := FindCapacity(context.Background(), Scenario{Target: target, Rooms: 2, BitrateKbps: 300, FPS: 15, ServerPID: os.Getpid()},
		Limits{MaxLoss: 0.05, MaxLatency: time.Second, Step: 1, Hold: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.WriteTable(os.Stderr)
	if c.Rooms != 2 || len(c.Steps) != 2 || !c.Steps[1].Held || c.Steps[1].LatencyP99Ms <= 0 {
		t.Fatalf("capacity %+v", c)
	}
	for _, s := range c.Steps {
		if s.ForwardedPerSecond <= 0 || s.ServerCores <= 0 || s.ForwardedPerCore <= 0 || s.ServerUDPDrops < 0 || s.ServerRunQueueWait < 0 {
			t.Errorf("level of %d rooms: forwarded %.0f/s, %.2f cores, %.0f/s per core, %d drops on the server's sockets",
				s.Rooms, s.ForwardedPerSecond, s.ServerCores, s.ForwardedPerCore, s.ServerUDPDrops)
		}
	}
	if c.Knee == nil || c.Knee.Rooms != 2 || c.Knee.Tries != 1 || c.Knee.ForwardedPerCore <= 0 || c.ForwardedCountedBy != countedByServer {
		t.Fatalf("knee %+v, forwarded packets counted by %q", c.Knee, c.ForwardedCountedBy)
	}
	var page strings.Builder
	if err := c.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, plot := range []string{"server CPU (cores)", "p99 latency (ms)", "loss (%)"} {
		if !strings.Contains(page.String(), plot) {
			t.Errorf("HTML report: no plot of %s", plot)
		}
	}
	if n := strings.Count(page.String(), "<polyline"); n != 3 {
		t.Errorf("HTML report: %d plots, want 3", n)
	}
}

// A level that breaks the limits is measured again Limits.Retries times
// before the search stops there; with every level broken, no level is
// the knee.
func TestFindCapacityRetriesABrokenLevel(t *testing.T) {
	target := startTrtcd(t)
	c, err := FindCapacity(context.Background(), Scenario{Target: target, Rooms: 2, BitrateKbps: 300, FPS: 15},
		Limits{MaxLoss: 1, MaxLatency: time.Nanosecond, Step: 1, Hold: 500 * time.Millisecond, Retries: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Rooms != 0 || c.Knee != nil || len(c.Steps) != 1 || c.Steps[0].Held || c.Steps[0].Tries != 2 {
		t.Fatalf("capacity %+v", c)
	}
}

// A short scenario against an in-process trtcd: in every room both
// participants publish and play each other, all media arrives, and
// latency, join time and keyframe wait are measured for both directions.
func TestRunAgainstTrtcd(t *testing.T) {
	target := startTrtcd(t)
	updates := 0
	r, err := Run(context.Background(), Scenario{Target: target, Rooms: 3, Ramp: 10, Duration: 3 * time.Second,
		BitrateKbps: 500, FPS: 25, ServerPID: os.Getpid()}, func(Progress) { updates++ })
	if err != nil {
		t.Fatal(err)
	}
	r.WriteTable(os.Stderr)
	if r.RoomsUp != 3 || r.DeliveryRatio < 0.99 || r.LatencyMs.Count == 0 || r.JoinMs.Count != 6 || r.KeyframeWaitMs.Count != 6 {
		t.Fatalf("report %+v", r)
	}
	var page, doc strings.Builder
	if err := r.WriteHTML(&page); err != nil || !strings.Contains(page.String(), "<svg") || !strings.Contains(page.String(), "<polyline") {
		t.Fatalf("HTML report: %v\n%.300s", err, page.String())
	}
	if err := r.WriteJSON(&doc); err != nil || !strings.Contains(doc.String(), `"deliveryRatio"`) {
		t.Fatalf("JSON report: %v", err)
	}
	if r.KbpsPerRoom < 700 || r.Server == nil || r.Server.CPUCores <= 0 || updates == 0 {
		t.Fatalf("rates and resources not measured: %+v (%d progress updates)", r, updates)
	}
}

func TestEndpointTemplates(t *testing.T) {
	tg := Target{URL: "http://h:1", App: 7}
	if got := tg.endpoint("", defaultWHEP, "r 1", "bob", "al/ice"); got != "http://h:1/whep/7/r+1/al%2Fice?userId=bob" {
		t.Fatalf("default WHEP: %s", got)
	}
	srs := "http://h/rtc/v1/whip/?app=live&stream={room}_{user}"
	if got := tg.endpoint(srs, defaultWHIP, "5", "a", "a"); got != "http://h/rtc/v1/whip/?app=live&stream=5_a" {
		t.Fatalf("template: %s", got)
	}
}
