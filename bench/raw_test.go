package bench

import (
	"context"
	"os"
	"testing"
	"time"
)

// The raw engine against an in-process trtcd: in every room both
// participants publish and play each other over WHIP/WHEP with real ICE
// and DTLS, every viewer gets media (its first packet, and video), nothing
// is lost on loopback, and the send-time stamps give latency samples.
func TestRawEngineAgainstTrtcd(t *testing.T) {
	target := startTrtcd(t)
	r, err := Run(context.Background(), Scenario{Target: target, Rooms: 3, Ramp: 10, Duration: 2 * time.Second,
		BitrateKbps: 500, FPS: 25, ServerPID: os.Getpid(), Engine: EngineRaw}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.WriteTable(os.Stderr)
	const viewers = 6 // 3 rooms, each side plays the other
	if r.RoomsUp != 3 || r.JoinMs.Count != viewers || r.KeyframeWaitMs.Count != viewers {
		t.Fatalf("not every viewer got media: %+v", r)
	}
	if r.DeliveryRatio < 0.99 || r.LatencyMs.Count == 0 {
		t.Fatalf("delivery %.4f, %d latency samples: %+v", r.DeliveryRatio, r.LatencyMs.Count, r)
	}
	if r.Generator.MicrosPerPacket <= 0 {
		t.Fatalf("generator CPU per packet not measured: %+v", r.Generator)
	}
}

// The raw engine runs the /ws signalling's rooms too (join, publish,
// subscribe), and leaves RTMP rooms' pushers and viewers as they are.
func TestRawEngineWithEveryKind(t *testing.T) {
	target := startTrtcd(t)
	r, err := Run(context.Background(), Scenario{Target: target, Rooms: 3, Ramp: 10, Duration: 2 * time.Second,
		BitrateKbps: 300, FPS: 15, Mix: Mix{KindWHIP: 1, KindWS: 1, KindRTMP: 1}, Engine: EngineRaw}, nil)
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
}

// The raw engine refuses uplink loss (it has no lossy socket) and an
// unknown engine is an error, before any room starts.
func TestEngineChoiceIsChecked(t *testing.T) {
	for _, sc := range []Scenario{{Engine: EngineRaw, UplinkLoss: 0.05}, {Engine: "quic"}} {
		sc.Rooms, sc.BitrateKbps, sc.FPS = 1, 300, 15
		if _, err := Run(context.Background(), sc, nil); err == nil {
			t.Errorf("engine %q with loss %v: no error", sc.Engine, sc.UplinkLoss)
		}
	}
}
