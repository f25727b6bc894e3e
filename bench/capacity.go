package bench

import (
	"context"
	"time"
)

// Limits are the quality a room count must hold to count as capacity.
type Limits struct {
	MaxLoss    float64       // e.g. 0.01
	MaxLatency time.Duration // p99 end-to-end, e.g. 100 ms
	Step       int           // rooms added per step
	Hold       time.Duration // how long each step is measured
	// Retries is how many more times a level that broke the limits is
	// held and measured before the search stops there: on a shared
	// machine one stall of other work can push a level's p99 over the
	// limit while the server has cores to spare.
	Retries int
}

// Step is one load level of a capacity search.
type Step struct {
	Rooms        int     `json:"rooms"`
	LossRatio    float64 `json:"lossRatio"`
	LatencyP99Ms float64 `json:"latencyP99Ms"`
	ServerCores  float64 `json:"serverCpuCores"` // -1 when not measured
	// ForwardedPerSecond is the packets the server forwarded per second
	// over the level: its own count where it keeps one (trtcd's /metrics),
	// else what the viewers received (Capacity.ForwardedCountedBy says).
	ForwardedPerSecond float64 `json:"forwardedPacketsPerSecond"`
	// ForwardedPerCore is ForwardedPerSecond per server core busy; 0 when
	// the server's CPU is not measured.
	ForwardedPerCore float64 `json:"forwardedPacketsPerSecondPerCore,omitempty"`
	// UDPBufferDrops: datagrams the kernel dropped for a full socket
	// receive buffer during the level, machine-wide.
	UDPBufferDrops uint64 `json:"udpReceiveBufferDrops"`
	// ServerUDPDrops is the part of UDPBufferDrops on the server's own
	// sockets (its readers fell behind); -1 when not measured.
	ServerUDPDrops int64 `json:"serverUdpReceiveBufferDrops"`
	// ServerRunQueueWait is the time the server's threads waited for a
	// CPU, per second of the level (other work on its cores); -1 when
	// not measured. High at a knee far below the server's cores, it says
	// the machine, not the server, set the knee.
	ServerRunQueueWait float64 `json:"serverRunQueueWaitSecondsPerSecond"`
	Held               bool    `json:"held"`
	// Tries is how many times the level was measured (Limits.Retries);
	// the step is the last measurement.
	Tries int `json:"tries"`
}

// Capacity is the outcome of a search: the most rooms that held the limits.
type Capacity struct {
	// ViewTarget is where the viewers played in a cross-node search.
	ViewTarget string `json:"viewTarget,omitempty"`
	Rooms      int    `json:"capacityRooms"`
	// Knee is the last level that held (Rooms rooms); nil when none did.
	Knee  *Step  `json:"knee,omitempty"`
	Steps []Step `json:"steps"`
	// ForwardedCountedBy is where the steps' forwarded packets were
	// counted: "server" (trtcd's /metrics) or "viewers".
	ForwardedCountedBy string  `json:"forwardedCountedBy"`
	MaxLossRatio       float64 `json:"maxLossRatio"`
	MaxLatencyP99Ms    float64 `json:"maxLatencyP99Ms"`
	GeneratorCores     float64 `json:"generatorCpuCores"`
}

// Counted-by values of Capacity.ForwardedCountedBy.
const (
	countedByServer  = "server"
	countedByViewers = "viewers"
)

// FindCapacity adds rooms step by step (up to sc.Rooms) and measures each
// level for lim.Hold; it stops at the first level that breaks the limits.
func FindCapacity(ctx context.Context, sc Scenario, lim Limits, progress func(Step)) (*Capacity, error) {
	sc, stopEngine, err := sc.withEngine()
	if err != nil {
		return nil, err
	}
	var pairs []*Pair
	defer func() {
		for _, p := range pairs {
			p.Close()
		}
		stopEngine()
	}()
	cpu := newCPUWatch(newServerProbe(sc.ServerPID, sc.Target))
	c := &Capacity{MaxLossRatio: lim.MaxLoss, MaxLatencyP99Ms: ms(lim.MaxLatency)}
	if sc.Target.CrossNode() {
		c.ViewTarget = sc.Target.ViewURL
	}
	for rooms := 0; rooms < sc.Rooms; {
		next := min(rooms+lim.Step, sc.Rooms)
		for ; rooms < next; rooms++ {
			started, err := startRoom(ctx, sc, rooms)
			pairs = append(pairs, started...)
			if err != nil {
				return c, err
			}
		}
		s, err := measureLevelTries(ctx, pairs, cpu, lim)
		if err != nil {
			return c, err
		}
		s.Rooms = rooms
		c.Steps = append(c.Steps, s.Step)
		c.ForwardedCountedBy = s.countedBy
		if progress != nil {
			progress(s.Step)
		}
		if !s.Held {
			break
		}
		c.Rooms, c.Knee = rooms, &s.Step
	}
	c.GeneratorCores = cpu.generator(0).CPUCores
	return c, nil
}

// level is a measured step and where its forwarded packets were counted.
type level struct {
	Step
	countedBy string
}

// measureLevelTries measures the level until it holds the limits, at most
// 1 + lim.Retries times.
func measureLevelTries(ctx context.Context, pairs []*Pair, cpu *cpuWatch, lim Limits) (level, error) {
	for try := 1; ; try++ {
		s, err := measureLevel(ctx, pairs, cpu, lim.Hold)
		if err != nil {
			return s, err
		}
		s.Tries = try
		s.Held = s.LossRatio <= lim.MaxLoss && s.LatencyP99Ms <= ms(lim.MaxLatency)
		if s.Held || try > lim.Retries {
			return s, nil
		}
	}
}

// measureLevel holds the rooms up for hold and measures that window only:
// loss, p99, the server's cores and the packets it forwarded.
func measureLevel(ctx context.Context, pairs []*Pair, cpu *cpuWatch, hold time.Duration) (level, error) {
	before, began := totals(pairs), time.Now()
	for _, p := range pairs {
		p.mu.Lock()
		p.latency = NewSamples(20000) // this level's samples only
		p.mu.Unlock()
	}
	cpu.next()
	cpu.markUDPDrops, _ = UDPReceiveBufferErrors()
	select {
	case <-time.After(hold):
	case <-ctx.Done():
		return level{}, ctx.Err()
	}
	load, after := cpu.next(), totals(pairs)
	s := level{Step: Step{ServerCores: load.Cores, LatencyP99Ms: windowP99(pairs), UDPBufferDrops: cpu.udpDrops(),
		ServerUDPDrops: load.UDPDrops, ServerRunQueueWait: load.RunQueueWait, ForwardedPerSecond: load.ForwardedPerSecond}, countedBy: countedByServer}
	if s.ForwardedPerSecond < 0 {
		s.ForwardedPerSecond = float64(after.Received-before.Received) / time.Since(began).Seconds()
		s.countedBy = countedByViewers
	}
	if s.ServerCores > 0 {
		s.ForwardedPerCore = s.ForwardedPerSecond / s.ServerCores
	}
	if expected := after.Expected - before.Expected; expected > 0 {
		s.LossRatio = float64(int64(after.Lost)-int64(before.Lost)) / float64(expected)
	}
	return s, nil
}

func windowP99(pairs []*Pair) float64 {
	all := latencyOf(pairs)
	if all.Count() == 0 {
		return 0
	}
	return all.Percentile(99)
}
