package bench

import (
	"context"
	"os"
	"testing"
	"time"
)

// One room of each client kind against a trtcd with RTMP on, and no
// --server-pid: a WHIP pair, a /ws pair (join, publish, subscribe,
// heartbeats) and an RTMP pusher played over WHEP each deliver what was
// sent, each measures latency (RTMP from its video), and the server's
// figures come from its /metrics.
func TestMixedRunEveryKindDelivers(t *testing.T) {
	target := startTrtcd(t)
	r, err := Run(context.Background(), Scenario{Target: target, Rooms: 3, Ramp: 10, Duration: 3 * time.Second,
		BitrateKbps: 300, FPS: 15, Mix: Mix{KindWHIP: 1, KindWS: 1, KindRTMP: 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.WriteTable(os.Stderr)
	if r.RoomsUp != 3 || len(r.ByKind) != 3 {
		t.Fatalf("rooms up %d, kinds %+v", r.RoomsUp, r.ByKind)
	}
	for _, k := range r.ByKind {
		if k.Rooms != 1 || k.DeliveryRatio < 0.95 || k.LatencyMs.Count == 0 {
			t.Errorf("%s rooms: %+v", k.Kind, k)
		}
	}
	s := r.Server
	if s == nil || s.Source != "/metrics" || s.CPUCores <= 0 || s.RSSMiB <= 0 || s.ForwardedPackets == 0 || s.MicrosPerForwarded <= 0 {
		t.Fatalf("server figures from /metrics: %+v", s)
	}
}

// Uplink loss reaches the publishers: with 5 % dropped, the viewers still
// get nearly everything, because NACKs recover it, and late packets show
// the recovery.
func TestUplinkLossIsRecovered(t *testing.T) {
	target := startTrtcd(t)
	r, err := Run(context.Background(), Scenario{Target: target, Rooms: 1, OneWay: true, Duration: 3 * time.Second,
		BitrateKbps: 300, FPS: 15, UplinkLoss: 0.05}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Late == 0 || r.DeliveryRatio < 0.9 {
		t.Fatalf("with 5 %% uplink loss: %d late, delivery %.3f", r.Late, r.DeliveryRatio)
	}
}
