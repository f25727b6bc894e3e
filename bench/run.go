package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	// ServerPID is the server's process on this machine, read in /proc;
	// 0: read trtcd's /metrics instead (other servers: not measured).
	ServerPID int
	// UplinkLoss drops this fraction of the RTP every WebRTC publisher
	// sends (RTMP pushers use TCP and lose nothing).
	UplinkLoss float64
	// Mix is the share of rooms of each client kind; zero: all WHIP.
	Mix Mix
	// Engine is EnginePion (the default) or EngineRaw, which sends and
	// receives the WebRTC rooms' media itself (RTMP pushers and their
	// viewers stay as they are).
	Engine string

	raw *rawEngine // the raw engine's sender while the scenario runs
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
	P50, P90, P95, P99, Max float64
	Count                   uint64
}

func percentilesOf(s *Samples) Percentiles {
	p := Percentiles{Count: s.Count()}
	if s.Count() > 0 {
		p.P50, p.P90, p.P95, p.P99, p.Max = s.Percentile(50), s.Percentile(90), s.Percentile(95), s.Percentile(99), s.Percentile(100)
	}
	return p
}

// Report is the outcome, as printed and as written to JSON.
type Report struct {
	Target string `json:"target"`
	// ViewTarget is where the viewers played in a cross-node run (the
	// publishers published to Target); empty when both were Target.
	ViewTarget      string      `json:"viewTarget,omitempty"`
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
	// UDPBufferDrops are datagrams the kernel dropped in the window
	// because a socket's receive buffer was full, machine-wide.
	UDPBufferDrops uint64  `json:"udpReceiveBufferDrops"`
	KbpsPerRoom    float64 `json:"receivedKbpsPerRoom"`
	// ByKind splits delivery and latency by client kind (--mix).
	ByKind    []KindReport `json:"byKind"`
	Server    *Resources   `json:"server,omitempty"`
	Generator Resources    `json:"generator"`
	// Timeline is the progress every two seconds: rooms up, loss and the
	// server's CPU as the load ramped and held.
	Timeline []Progress `json:"timeline"`
}

// Resources are a process's CPU and memory over the run.
type Resources struct {
	Source          string  `json:"source,omitempty"` // "/proc" or "/metrics"
	CPUCores        float64 `json:"cpuCores"`         // average cores busy
	MicrosPerPacket float64 `json:"cpuMicrosPerPacket,omitempty"`
	// ForwardedPackets is the server's own count (trtcd's /metrics) of
	// packets written to subscribers in the window.
	ForwardedPackets   uint64  `json:"forwardedPackets,omitempty"`
	MicrosPerForwarded float64 `json:"cpuMicrosPerForwardedPacket,omitempty"`
	RSSMiB             float64 `json:"rssMiB"`
	// CorePercentPerRoom is CPUCores per room up, in % of one core: with
	// --mix rtmp=1, the cost of one pushed stream (ingest, AAC → Opus and
	// its viewers).
	CorePercentPerRoom float64 `json:"corePercentPerRoom,omitempty"`
}

// Run executes a scenario, calling progress every two seconds.
func Run(ctx context.Context, sc Scenario, progress func(Progress)) (*Report, error) {
	if sc.Viewers <= 0 {
		sc.Viewers = 1
	}
	if sc.Ramp <= 0 {
		sc.Ramp = 5
	}
	sc, stopEngine, err := sc.withEngine()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var pairs []*Pair
	defer func() {
		for _, p := range pairs {
			p.Close()
		}
		stopEngine()
	}()
	cpu := newCPUWatch(newServerProbe(sc.ServerPID, sc.Target))
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	var timeline []Progress
	report := func() {
		t := totals(pairs)
		p := Progress{Elapsed: time.Since(start), RoomsUp: roomsUp(pairs), Received: t.Received,
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
	cpu.markNow() // measure the steady state only
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

// roomsUp counts the rooms with media started.
func roomsUp(pairs []*Pair) int {
	rooms := map[string]bool{}
	for _, p := range pairs {
		rooms[p.room] = true
	}
	return len(rooms)
}

// totals sums the streams of all pairs.
type sums struct{ Expected, Received, Lost, Late, Dups, Bytes, Sent uint64 }

func (s sums) lossRatio() float64 {
	if s.Expected == 0 {
		return 0
	}
	return float64(s.Lost) / float64(s.Expected)
}

func totals(pairs []*Pair) sums { return totalsOf(pairs, "") }

// totalsOf sums the pairs of one kind ("": every kind).
func totalsOf(pairs []*Pair, kind ClientKind) sums {
	var s sums
	for _, p := range pairs {
		if kind != "" && p.Kind != kind {
			continue
		}
		p.mu.Lock()
		var expected uint64
		for _, st := range p.streams {
			expected += st.Seq.Expected()
			s.Received += st.Seq.Received
			s.Lost += st.Seq.Lost()
			s.Late += st.Seq.Late
			s.Dups += st.Seq.Dups
			s.Bytes += st.Bytes
		}
		p.mu.Unlock()
		s.Expected += expected
		s.Sent += p.sentPackets(expected)
	}
	return s
}

// sentPackets is what the publisher sent: the raw engine counts it; for
// the others it is what one viewer expected (the sequence numbers' span).
func (p *Pair) sentPackets(expected uint64) uint64 {
	if n := p.sent.Load(); n > 0 {
		return uint64(n)
	}
	return expected / uint64(max(len(p.viewers), 1))
}

// build assembles the report; from is the totals when the steady state
// began, for rates and CPU per packet.
func build(sc Scenario, pairs []*Pair, cpu *cpuWatch, from sums) *Report {
	t := totals(pairs)
	r := &Report{Target: sc.Target.URL, Rooms: sc.Rooms, RoomsUp: roomsUp(pairs), DurationSeconds: cpu.elapsed().Seconds(),
		Expected: t.Expected, Received: t.Received, Lost: t.Lost, Late: t.Late, Duplicates: t.Dups}
	if sc.Target.CrossNode() {
		r.ViewTarget = sc.Target.ViewURL
	}
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
		r.KbpsPerRoom = float64(t.Bytes-from.Bytes) * 8 / 1000 / elapsed / float64(roomsUp(pairs))
	}
	r.ByKind = byKind(pairs)
	r.UDPBufferDrops = cpu.udpDrops()
	r.Generator = cpu.generator((t.Sent - from.Sent) + (t.Received - from.Received))
	r.Server = cpu.server(t.Received - from.Received)
	if r.Server != nil && r.RoomsUp > 0 {
		r.Server.CorePercentPerRoom = 100 * r.Server.CPUCores / float64(r.RoomsUp)
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// WriteTable prints the report for a person.
func (r *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	f := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }
	f("target\t%s", r.Target)
	if r.ViewTarget != "" {
		f("viewers on\t%s (cross-node: publishers on the target, every packet relayed to this node)", r.ViewTarget)
	}
	f("rooms up\t%d of %d", r.RoomsUp, r.Rooms)
	f("measured\t%.1f s", r.DurationSeconds)
	f("delivery\t%.4f  (%d of %d packets; %d lost, %d late or recovered, %d duplicates)",
		r.DeliveryRatio, r.Received, r.Expected, r.Lost, r.Late, r.Duplicates)
	f("latency ms\tp50 %.1f  p95 %.1f  p99 %.1f  max %.1f  (%d samples)", r.LatencyMs.P50, r.LatencyMs.P95, r.LatencyMs.P99, r.LatencyMs.Max, r.LatencyMs.Count)
	f("join ms\tp50 %.0f  p99 %.0f", r.JoinMs.P50, r.JoinMs.P99)
	f("keyframe wait ms\tp50 %.0f  p99 %.0f", r.KeyframeWaitMs.P50, r.KeyframeWaitMs.P99)
	f("video jitter\t%.1f ms", r.JitterMs)
	f("UDP buffer drops\t%d datagrams dropped by the kernel for a full socket receive buffer (machine-wide)", r.UDPBufferDrops)
	f("received per room\t%.0f kbps (both directions)", r.KbpsPerRoom)
	for _, k := range r.ByKind {
		f("%s rooms\t%d: delivery %.4f (%d of %d), latency %s", k.Kind, k.Rooms, k.DeliveryRatio, k.Received, k.Expected, k.latencyText())
	}
	if s := r.Server; s != nil {
		f("server (%s)\t%.2f cores, %.1f µs CPU per delivered packet, %.0f MiB", s.Source, s.CPUCores, s.MicrosPerPacket, s.RSSMiB)
		per := "room"
		if len(r.ByKind) == 1 && r.ByKind[0].Kind == KindRTMP {
			per = "pushed stream (RTMP ingest, AAC → Opus, its WebRTC viewers)"
		}
		f("server per room\t%.2f %% of a core per %s", s.CorePercentPerRoom, per)
		if s.ForwardedPackets > 0 {
			f("server forwarded\t%d packets, %.1f µs CPU per forwarded packet", s.ForwardedPackets, s.MicrosPerForwarded)
		}
	} else {
		f("server\tnot measured (give --server-pid, or point --target at a trtcd with /metrics; cross-node: both nodes)")
	}
	f("generator\t%.2f cores, %.2f µs CPU per packet sent or received, %.0f MiB (shares the machine with the server)",
		r.Generator.CPUCores, r.Generator.MicrosPerPacket, r.Generator.RSSMiB)
	if ratio := r.generatorToServer(); ratio > 0 {
		f("generator / server\t%.2f (CPU per packet the generator sent or received, per packet the server forwarded)", ratio)
	}
	tw.Flush()
}

// generatorToServer compares the generator's CPU per packet with the
// server's per forwarded packet (per delivered one without /metrics); 0
// when either is not measured.
func (r *Report) generatorToServer() float64 {
	if r.Server == nil || r.Generator.MicrosPerPacket == 0 {
		return 0
	}
	server := r.Server.MicrosPerForwarded
	if server == 0 {
		server = r.Server.MicrosPerPacket
	}
	if server == 0 {
		return 0
	}
	return r.Generator.MicrosPerPacket / server
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
