package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"
)

// Scenario is one load test: Rooms 1v1 rooms where each participant sends
// synthetic H.264 at BitrateKbps and FPS plus Opus and receives the other
// (OneWay: one participant sends, the other only receives).
type Scenario struct {
	Target      Target
	Rooms       int
	OneWay      bool
	Viewers     int           // per publisher (1 for 1v1)
	Ramp        float64       // rooms started per second
	Duration    time.Duration // after the last room is up
	BitrateKbps int
	FPS         int
	ServerPID   int // 0: server CPU and memory are not read
}

// Progress is what a live display shows while the scenario runs.
type Progress struct {
	Elapsed   time.Duration `json:"elapsedNs"`
	RoomsUp   int           `json:"roomsUp"`
	Received  uint64        `json:"receivedPackets"`
	LossRatio float64       `json:"lossRatio"`
	ServerCPU float64       `json:"serverCpuCores"` // over the last interval; -1 when not measured
}

// Percentiles of a distribution, in milliseconds.
type Percentiles struct {
	P50, P95, P99, Max float64
	Count              uint64
}

func percentilesOf(s *Samples) Percentiles {
	p := Percentiles{Count: s.Count()}
	if s.Count() > 0 {
		p.P50, p.P95, p.P99, p.Max = s.Percentile(50), s.Percentile(95), s.Percentile(99), s.Percentile(100)
	}
	return p
}

// Report is the outcome, as printed and as written to JSON.
type Report struct {
	Target          string      `json:"target"`
	Rooms           int         `json:"rooms"`
	RoomsUp         int         `json:"roomsUp"`
	DurationSeconds float64     `json:"durationSeconds"`
	Expected        uint64      `json:"expectedPackets"`
	Received        uint64      `json:"receivedPackets"`
	Lost            uint64      `json:"lostPackets"`
	Late            uint64      `json:"latePackets"` // reordered or recovered by NACK
	Duplicates      uint64      `json:"duplicatePackets"`
	DeliveryRatio   float64     `json:"deliveryRatio"`
	LatencyMs       Percentiles `json:"latencyMs"`
	JoinMs          Percentiles `json:"joinMs"`         // publish request → first packet at the viewer
	KeyframeWaitMs  Percentiles `json:"keyframeWaitMs"` // viewer answer → first video packet
	JitterMs        float64     `json:"videoJitterMs"`  // mean over video streams
	KbpsPerRoom     float64     `json:"receivedKbpsPerRoom"`
	Server          *Resources  `json:"server,omitempty"`
	Generator       Resources   `json:"generator"`
	// Timeline is the progress every two seconds: rooms up, loss and the
	// server's CPU as the load ramped and held.
	Timeline []Progress `json:"timeline"`
}

// Resources are a process's CPU and memory over the run.
type Resources struct {
	CPUCores        float64 `json:"cpuCores"` // average cores busy
	MicrosPerPacket float64 `json:"cpuMicrosPerPacket,omitempty"`
	RSSMiB          float64 `json:"rssMiB"`
}

// Run executes a scenario, calling progress every two seconds.
func Run(ctx context.Context, sc Scenario, progress func(Progress)) (*Report, error) {
	if sc.Viewers <= 0 {
		sc.Viewers = 1
	}
	if sc.Ramp <= 0 {
		sc.Ramp = 5
	}
	start := time.Now()
	var pairs []*Pair
	defer func() {
		for _, p := range pairs {
			p.Close()
		}
	}()
	cpu := newCPUWatch(sc.ServerPID)
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	var timeline []Progress
	report := func() {
		t := totals(pairs)
		p := Progress{Elapsed: time.Since(start), RoomsUp: roomsUp(sc, pairs), Received: t.Received,
			LossRatio: t.lossRatio(), ServerCPU: cpu.interval()}
		timeline = append(timeline, p)
		if progress != nil {
			progress(p)
		}
	}
	for i := range sc.Rooms {
		started, err := startRoom(ctx, sc, i)
		pairs = append(pairs, started...)
		if err != nil {
			return nil, err
		}
		select {
		case <-tick.C:
			report()
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(float64(time.Second) / sc.Ramp)):
		}
	}
	cpu.mark() // measure the steady state only
	steady := totals(pairs)
	end := time.After(sc.Duration)
	for waiting := true; waiting; {
		select {
		case <-tick.C:
			report()
		case <-end:
			waiting = false
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	r := build(sc, pairs, cpu, steady)
	r.Timeline = timeline
	return r, nil
}

func roomsUp(sc Scenario, pairs []*Pair) int {
	if sc.OneWay {
		return len(pairs)
	}
	return len(pairs) / 2
}

// totals sums the streams of all pairs.
type sums struct{ Expected, Received, Lost, Late, Dups, Bytes uint64 }

func (s sums) lossRatio() float64 {
	if s.Expected == 0 {
		return 0
	}
	return float64(s.Lost) / float64(s.Expected)
}

func totals(pairs []*Pair) sums {
	var s sums
	for _, p := range pairs {
		p.mu.Lock()
		for _, st := range p.streams {
			s.Expected += st.Seq.Expected()
			s.Received += st.Seq.Received
			s.Lost += st.Seq.Lost()
			s.Late += st.Seq.Late
			s.Dups += st.Seq.Dups
			s.Bytes += st.Bytes
		}
		p.mu.Unlock()
	}
	return s
}

// build assembles the report; from is the totals when the steady state
// began, for rates and CPU per packet.
func build(sc Scenario, pairs []*Pair, cpu *cpuWatch, from sums) *Report {
	t := totals(pairs)
	r := &Report{Target: sc.Target.URL, Rooms: sc.Rooms, RoomsUp: roomsUp(sc, pairs), DurationSeconds: cpu.elapsed().Seconds(),
		Expected: t.Expected, Received: t.Received, Lost: t.Lost, Late: t.Late, Duplicates: t.Dups}
	if t.Expected > 0 {
		r.DeliveryRatio = float64(t.Received) / float64(t.Expected)
	}
	latency, join, keyframe := NewSamples(200000), NewSamples(10000), NewSamples(10000)
	var jitter float64
	var videoStreams int
	for _, p := range pairs {
		p.mu.Lock()
		for _, v := range p.latency.values {
			latency.Add(v)
		}
		if !p.firstMedia.IsZero() {
			join.Add(ms(p.firstMedia.Sub(p.started)))
		}
		if !p.firstVideo.IsZero() && !p.joined.IsZero() {
			keyframe.Add(ms(p.firstVideo.Sub(p.joined)))
		}
		for _, st := range p.streams {
			if st.Kind == "video" {
				jitter += ms(st.Jitter.Duration())
				videoStreams++
			}
		}
		p.mu.Unlock()
	}
	r.LatencyMs, r.JoinMs, r.KeyframeWaitMs = percentilesOf(latency), percentilesOf(join), percentilesOf(keyframe)
	if videoStreams > 0 {
		r.JitterMs = jitter / float64(videoStreams)
	}
	if elapsed := cpu.elapsed().Seconds(); len(pairs) > 0 && elapsed > 0 {
		r.KbpsPerRoom = float64(t.Bytes-from.Bytes) * 8 / 1000 / elapsed / float64(roomsUp(sc, pairs))
	}
	r.Generator = cpu.resources(os.Getpid(), 0)
	if sc.ServerPID != 0 {
		res := cpu.resources(sc.ServerPID, t.Received-from.Received)
		r.Server = &res
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// WriteTable prints the report for a person.
func (r *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	f := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }
	f("target\t%s", r.Target)
	f("rooms up\t%d of %d", r.RoomsUp, r.Rooms)
	f("measured\t%.1f s", r.DurationSeconds)
	f("delivery\t%.4f  (%d of %d packets; %d lost, %d late or recovered, %d duplicates)",
		r.DeliveryRatio, r.Received, r.Expected, r.Lost, r.Late, r.Duplicates)
	f("latency ms\tp50 %.1f  p95 %.1f  p99 %.1f  max %.1f  (%d samples)", r.LatencyMs.P50, r.LatencyMs.P95, r.LatencyMs.P99, r.LatencyMs.Max, r.LatencyMs.Count)
	f("join ms\tp50 %.0f  p99 %.0f", r.JoinMs.P50, r.JoinMs.P99)
	f("keyframe wait ms\tp50 %.0f  p99 %.0f", r.KeyframeWaitMs.P50, r.KeyframeWaitMs.P99)
	f("video jitter\t%.1f ms", r.JitterMs)
	f("received per room\t%.0f kbps (both directions)", r.KbpsPerRoom)
	if s := r.Server; s != nil {
		f("server\t%.2f cores, %.1f µs CPU per delivered packet, %.0f MiB", s.CPUCores, s.MicrosPerPacket, s.RSSMiB)
	}
	f("generator\t%.2f cores, %.0f MiB (shares the machine with the server)", r.Generator.CPUCores, r.Generator.RSSMiB)
	tw.Flush()
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// cpuWatch reads a server's CPU over the run's steady state.
type cpuWatch struct {
	pid              int
	markAt, lastAt   time.Time
	markCPU, lastCPU time.Duration
	markSelf         time.Duration
}

func newCPUWatch(pid int) *cpuWatch {
	w := &cpuWatch{pid: pid, lastAt: time.Now()}
	w.lastCPU, _ = ProcessCPU(pid)
	w.mark()
	return w
}

func (w *cpuWatch) mark() {
	w.markAt = time.Now()
	w.markCPU, _ = ProcessCPU(w.pid)
	w.markSelf, _ = ProcessCPU(os.Getpid())
}

func (w *cpuWatch) elapsed() time.Duration { return time.Since(w.markAt) }

// interval is the server's cores busy since the last call (-1: unknown).
func (w *cpuWatch) interval() float64 {
	if w.pid == 0 {
		return -1
	}
	now := time.Now()
	c, err := ProcessCPU(w.pid)
	if err != nil {
		return -1
	}
	cores := (c - w.lastCPU).Seconds() / now.Sub(w.lastAt).Seconds()
	w.lastAt, w.lastCPU = now, c
	return cores
}

// resources are a process's CPU since the mark, per packet delivered in
// that time when packets is given, and its memory now.
func (w *cpuWatch) resources(pid int, packets uint64) Resources {
	var r Resources
	base := w.markCPU
	if pid == os.Getpid() {
		base = w.markSelf
	}
	if c, err := ProcessCPU(pid); err == nil {
		r.CPUCores = (c - base).Seconds() / w.elapsed().Seconds()
		if packets > 0 {
			r.MicrosPerPacket = float64((c - base).Microseconds()) / float64(packets)
		}
	}
	if rss, err := ProcessRSS(pid); err == nil {
		r.RSSMiB = float64(rss) / (1 << 20)
	}
	return r
}
