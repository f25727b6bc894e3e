package bench

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The capacity page plots each chart against the load (forwarded packets
// per second) with the levels' rooms under the axis, and marks the knee on
// each at its load; with no knee, nothing is marked.
func TestCapacityHTMLPlotsAgainstLoadAndMarksKnee(t *testing.T) {
	c := &Capacity{MaxLossRatio: 0.01, MaxLatencyP99Ms: 100, ForwardedCountedBy: countedByServer, Steps: []Step{
		{Rooms: 2, ForwardedPerSecond: 400, ServerCores: 0.2, LatencyP99Ms: 20, Held: true},
		{Rooms: 4, ForwardedPerSecond: 800, ServerCores: 0.4, LatencyP99Ms: 30, Held: true},
		{Rooms: 6, ForwardedPerSecond: 1100, ServerCores: 0.9, LatencyP99Ms: 250, LossRatio: 0.02},
	}}
	c.Rooms, c.Knee = 4, &c.Steps[1]
	page := capacityHTML(t, c)
	if n := strings.Count(page, ">forwarded packets/s (0–2000)</text>"); n != 3 {
		t.Errorf("%d charts with forwarded packets/s on the x axis, want 3", n)
	}
	if strings.Contains(page, ">rooms (0–") {
		t.Error("a chart still has rooms on the x axis")
	}
	for _, rooms := range []string{">rooms</text>", `class="label">2</text>`, `class="label">4</text>`, `class="label">6</text>`} {
		if n := strings.Count(page, rooms); n != 3 {
			t.Errorf("%d charts with %s under the axis, want 3", n, rooms)
		}
	}
	// The knee's 800 packets/s on an axis up to 2000.
	knee := fmt.Sprintf(`<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" class="knee"/>`,
		pad+(chartW-2*pad)*800/2000, pad, pad+(chartW-2*pad)*800/2000, chartH-pad)
	if n := strings.Count(page, knee); n != 3 {
		t.Errorf("%d knee lines at 800 packets/s, want 3:\n%s", n, page)
	}
	if n := strings.Count(page, ">knee: 4 rooms</text>"); n != 3 {
		t.Errorf("%d knee labels, want 3", n)
	}
	if n := strings.Count(page, `class="limit"`); n != 2 {
		t.Errorf("%d limit lines, want 2 (p99 and loss)", n)
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "://") {
		t.Error("the page is not self-contained")
	}

	c.Rooms, c.Knee = 0, nil
	for i := range c.Steps {
		c.Steps[i].Held = false
	}
	page = capacityHTML(t, c)
	if strings.Contains(page, `class="knee"`) || strings.Contains(page, "knee:") {
		t.Error("no level held, yet a knee is marked")
	}
	if n := strings.Count(page, ">forwarded packets/s (0–2000)</text>"); n != 3 {
		t.Errorf("no knee: %d charts with forwarded packets/s on the x axis, want 3", n)
	}
}

func capacityHTML(t *testing.T, c *Capacity) string {
	t.Helper()
	var page strings.Builder
	if err := c.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	return page.String()
}

// Against a server without trtcd's /metrics (stock pion here, like SRS or
// mediamtx), the packets forwarded are counted by the viewers: about what
// the rooms' publishers send, and the table says who counted.
func TestFindCapacityCountsForwardedByViewers(t *testing.T) {
	stock := buildBinary(t, t.TempDir(), "github.com/trtcd/trtcd/bench/stockpion")
	url, _ := startServer(t, regexp.MustCompile(`listening http://(\S+)`), stock)
	// No pid either: a server elsewhere, measured by its clients alone.
	c, err := FindCapacity(context.Background(), Scenario{Target: Target{Name: "stock pion", URL: url, App: benchApp}, Rooms: 2,
		BitrateKbps: 300, FPS: 15}, Limits{MaxLoss: 1, MaxLatency: time.Hour, Step: 1, Hold: 2 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	c.WriteTable(&table)
	t.Log("\n" + table.String())
	if c.ForwardedCountedBy != countedByViewers || len(c.Steps) != 2 {
		t.Fatalf("forwarded packets counted by %q, %d levels: %+v", c.ForwardedCountedBy, len(c.Steps), c)
	}
	// Each room's two publishers send Opus at 50 packets/s and 300 kbps of
	// H.264 at 15 fps in about 35; stock pion may play a viewer the audio
	// alone when it asks before the video arrived. The bounds leave half
	// of that either way for a loaded machine.
	for _, s := range c.Steps {
		low, high := 0.5*2*50*float64(s.Rooms), 1.5*2*85*float64(s.Rooms)
		if s.ForwardedPerSecond < low || s.ForwardedPerSecond > high {
			t.Errorf("level of %d rooms: %.0f forwarded packets/s counted by the viewers, want %.0f to %.0f",
				s.Rooms, s.ForwardedPerSecond, low, high)
		}
	}
	if !strings.Contains(table.String(), "forwarded/s (viewers)") {
		t.Error("the table does not say the viewers counted the forwarded packets")
	}
	if !strings.Contains(capacityHTML(t, c), "forwarded packets counted by the viewers") {
		t.Error("the page does not say the viewers counted the forwarded packets")
	}
}
