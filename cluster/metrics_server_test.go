package cluster_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testpeer"
)

// scrape reads one sample from a server's /metrics: the value of the line
// that starts with series (name and labels, as Prometheus prints them).
func scrape(t *testing.T, base, series string) (float64, bool) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(body)) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

func TestAnOperatorSeesTheRelayOnBothNodesMetrics(t *testing.T) {
	a, b := startTwoNodes(t)
	baseA, baseB := "http://"+a.HTTPAddr().String(), "http://"+b.HTTPAddr().String()

	// Before anything is relayed the series exist, at zero.
	if v, ok := scrape(t, baseB, `trtcd_cluster_relayed_packets_total{direction="in"}`); !ok || v != 0 {
		t.Fatalf("B's relayed packets in before any relay: %v, %v", v, ok)
	}
	watchAcross(t, a, b, "4712") // alice publishes on A; bob watches her on B

	testpeer.WaitFor(t, "packets relayed out of A and into B", 10*time.Second, func() bool {
		out, _ := scrape(t, baseA, `trtcd_cluster_relayed_packets_total{direction="out"}`)
		in, _ := scrape(t, baseB, `trtcd_cluster_relayed_packets_total{direction="in"}`)
		return out >= 50 && in >= 50
	})
	peer := `{peer="node-a",side="dialed"}`
	if v, _ := scrape(t, baseB, `trtcd_cluster_relay_connections{side="dialed"}`); v != 1 {
		t.Errorf("B's dialed relay connections = %v, want 1 (to A)", v)
	}
	if v, _ := scrape(t, baseB, "trtcd_cluster_relays"); v != 1 {
		t.Errorf("B relays %v publishers, want 1 (alice)", v)
	}
	if v, ok := scrape(t, baseB, "trtcd_cluster_peer_rtt_seconds"+peer); !ok || v <= 0 || v > 1 {
		t.Errorf("B's RTT to A = %v (%v), want above 0 and under a second on loopback", v, ok)
	}
	if v, ok := scrape(t, baseB, "trtcd_cluster_peer_received_bytes_total"+peer); !ok || v <= 0 {
		t.Errorf("B received %v bytes from A over QUIC, want the control traffic", v)
	}
	// The media comes sealed beside the QUIC connection B dialed, and
	// shows on both sides of it.
	if v, ok := scrape(t, baseB, "trtcd_cluster_peer_sealed_received_bytes_total"+peer); !ok || v < 10000 {
		t.Errorf("B received %v sealed bytes from A, want the media", v)
	}
	if v, ok := scrape(t, baseA, `trtcd_cluster_peer_sealed_sent_bytes_total{peer="node-b",side="accepted"}`); !ok || v < 10000 {
		t.Errorf("A sent %v sealed bytes to B on the accepted side, want the media", v)
	}
	if _, ok := scrape(t, baseA, `trtcd_cluster_peer_lost_packets{peer="node-b",side="accepted"}`); !ok {
		t.Error("A shows no loss series for the connection B dialed")
	}
}
