package bench

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// Forwarding is what a forwarding run measured.
type Forwarding struct {
	Target   string
	Rooms    int
	Viewers  int // per room
	Duration time.Duration
	// Packets are the RTP packets delivered to viewers. On loopback none
	// is lost, so it is also what the server forwarded; counting at the
	// viewers measures both servers the same way.
	Packets   int64
	ServerCPU time.Duration // user+system CPU of the server process (cross-node: of both)
	// ViewCPU is the part of ServerCPU the viewers' node used in a
	// cross-node run (the target's ViewURL); zero otherwise.
	ViewCPU time.Duration
	Latency Percentiles // end-to-end, over the measured window
}

// CorePercentPerRoom is the share of one core the server spent per room
// (per stream, for RTMP pushers played by one viewer each).
func (f Forwarding) CorePercentPerRoom() float64 {
	if f.Rooms == 0 || f.Duration <= 0 {
		return 0
	}
	return 100 * f.ServerCPU.Seconds() / f.Duration.Seconds() / float64(f.Rooms)
}

// PerPacket is the server's CPU time per delivered packet.
func (f Forwarding) PerPacket() time.Duration {
	if f.Packets == 0 {
		return 0
	}
	return f.ServerCPU / time.Duration(f.Packets)
}

func (f Forwarding) String() string {
	split := ""
	if f.ViewCPU > 0 {
		split = fmt.Sprintf(" (publishers' node %s, viewers' node %s)",
			(f.ServerCPU - f.ViewCPU).Round(time.Millisecond), f.ViewCPU.Round(time.Millisecond))
	}
	return fmt.Sprintf("%s: %d rooms × %d viewers, %d packets in %s, server CPU %s%s = %.2f µs/packet",
		f.Target, f.Rooms, f.Viewers, f.Packets, f.Duration.Round(time.Millisecond), f.ServerCPU.Round(time.Millisecond),
		split, float64(f.PerPacket().Nanoseconds())/1e3)
}

var measureRuns atomic.Int64

// MeasureForwarding runs rooms rooms of one publisher and viewers viewers
// against t, waits warmup, then measures for d. When t is cross-node the
// viewers play from t.ViewURL and the CPU is both servers'.
func MeasureForwarding(ctx context.Context, t Target, rooms, viewers, bitrateKbps, fps int, warmup, d time.Duration) (Forwarding, error) {
	return measure(ctx, t, rooms, viewers, warmup, d, func(room string) (*Pair, error) {
		return StartPair(ctx, t, room, "pub-"+room, "viewer-"+room, bitrateKbps, fps, viewers)
	})
}

// MeasureIngest is MeasureForwarding for RTMP pushers (synthetic H.264 and
// a real 44.1 kHz stereo AAC, which the server transcodes to Opus), each
// played by viewers WHEP viewers.
func MeasureIngest(ctx context.Context, t Target, rooms, viewers, bitrateKbps, fps int, warmup, d time.Duration) (Forwarding, error) {
	return measure(ctx, t, rooms, viewers, warmup, d, func(room string) (*Pair, error) {
		return startPairOfKind(ctx, t, pairSpec{Kind: KindRTMP, Room: room, Publisher: "pub-" + room,
			Viewers: viewerNames("viewer-"+room, viewers), BitrateKbps: bitrateKbps, FPS: fps}, nil)
	})
}

// measure starts rooms rooms with start, waits warmup, then measures for d.
func measure(ctx context.Context, t Target, rooms, viewers int, warmup, d time.Duration, start func(room string) (*Pair, error)) (Forwarding, error) {
	var pairs []*Pair
	defer func() {
		for _, p := range pairs {
			p.Close()
		}
	}()
	base := 1000 * (1 + measureRuns.Add(1)) // fresh room names each run: a server may keep the last run's
	for i := range rooms {
		room := fmt.Sprint(base + int64(i))
		p, err := start(room)
		if err != nil {
			return Forwarding{}, fmt.Errorf("%s room %d: %w", t.Name, i, err)
		}
		pairs = append(pairs, p)
	}
	time.Sleep(warmup)
	received := func() (n int64) {
		for _, p := range pairs {
			n += p.Received.Load()
		}
		return n
	}
	cpu0, view0, err := targetCPU(t)
	if err != nil {
		return Forwarding{}, err
	}
	for _, p := range pairs {
		p.mu.Lock()
		p.latency = NewSamples(20000) // the measured window's samples only
		p.mu.Unlock()
	}
	n0, began := received(), time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return Forwarding{}, ctx.Err()
	}
	cpu1, view1, err := targetCPU(t)
	if err != nil {
		return Forwarding{}, err
	}
	return Forwarding{Target: t.Name, Rooms: rooms, Viewers: viewers, Duration: time.Since(began), Packets: received() - n0,
		ServerCPU: cpu1 - cpu0, ViewCPU: view1 - view0, Latency: percentilesOf(latencyOf(pairs))}, nil
}

// targetCPU is the CPU time t's server processes have used so far: all of
// them, and of those the viewers' server's in a cross-node run.
func targetCPU(t Target) (all, view time.Duration, err error) {
	if all, err = ProcessCPU(t.PID); err != nil || !t.CrossNode() {
		return all, 0, err
	}
	if view, err = ProcessCPU(t.ViewPID); err != nil {
		return 0, 0, fmt.Errorf("the viewers' server: %w", err)
	}
	return all + view, view, nil
}

// WriteComparison prints forwarding runs side by side: CPU per forwarded
// packet, each against the first, and the latency distributions.
func WriteComparison(w io.Writer, runs []Forwarding) {
	if len(runs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	row := func(label string, value func(Forwarding) string) {
		fmt.Fprint(tw, label, "\t")
		for _, r := range runs {
			fmt.Fprint(tw, value(r), "\t")
		}
		fmt.Fprintln(tw)
	}
	row("", func(f Forwarding) string { return f.Target })
	row("rooms × viewers", func(f Forwarding) string { return fmt.Sprintf("%d × %d", f.Rooms, f.Viewers) })
	row("packets forwarded", func(f Forwarding) string { return fmt.Sprint(f.Packets) })
	row("server CPU (cores)", func(f Forwarding) string { return fmt.Sprintf("%.2f", f.ServerCPU.Seconds()/f.Duration.Seconds()) })
	row("% of a core per room", func(f Forwarding) string { return fmt.Sprintf("%.2f", f.CorePercentPerRoom()) })
	row("µs CPU per forwarded packet", func(f Forwarding) string { return fmt.Sprintf("%.2f", micros(f.PerPacket())) })
	row("ratio to "+runs[0].Target, func(f Forwarding) string {
		if runs[0].PerPacket() == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f", float64(f.PerPacket())/float64(runs[0].PerPacket()))
	})
	for _, q := range []struct {
		name string
		v    func(Percentiles) float64
	}{{"latency p50 ms", func(p Percentiles) float64 { return p.P50 }}, {"latency p90 ms", func(p Percentiles) float64 { return p.P90 }},
		{"latency p99 ms", func(p Percentiles) float64 { return p.P99 }}, {"latency max ms", func(p Percentiles) float64 { return p.Max }}} {
		row(q.name, func(f Forwarding) string { return fmt.Sprintf("%.1f", q.v(f.Latency)) })
	}
	tw.Flush()
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
