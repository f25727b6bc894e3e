package bench

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Limits are the quality a room count must hold to count as capacity.
type Limits struct {
	MaxLoss    float64       // e.g. 0.01
	MaxLatency time.Duration // p99 end-to-end, e.g. 100 ms
	Step       int           // rooms added per step
	Hold       time.Duration // how long each step is measured
}

// Step is one load level of a capacity search.
type Step struct {
	Rooms        int     `json:"rooms"`
	LossRatio    float64 `json:"lossRatio"`
	LatencyP99Ms float64 `json:"latencyP99Ms"`
	ServerCores  float64 `json:"serverCpuCores"` // -1 when not measured
	// UDPBufferDrops: datagrams the kernel dropped for a full socket
	// receive buffer during the level, machine-wide.
	UDPBufferDrops uint64 `json:"udpReceiveBufferDrops"`
	Held           bool   `json:"held"`
}

// Capacity is the outcome of a search: the most rooms that held the limits.
type Capacity struct {
	// ViewTarget is where the viewers played in a cross-node search.
	ViewTarget     string  `json:"viewTarget,omitempty"`
	Rooms          int     `json:"capacityRooms"`
	Steps          []Step  `json:"steps"`
	GeneratorCores float64 `json:"generatorCpuCores"`
}

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
	c := &Capacity{}
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
		before := totals(pairs)
		for _, p := range pairs {
			p.mu.Lock()
			p.latency = NewSamples(20000) // this level's samples only
			p.mu.Unlock()
		}
		cpu.interval()
		cpu.markUDPDrops, _ = UDPReceiveBufferErrors()
		select {
		case <-time.After(lim.Hold):
		case <-ctx.Done():
			return c, ctx.Err()
		}
		after := totals(pairs)
		s := Step{Rooms: rooms, ServerCores: cpu.interval(), LatencyP99Ms: windowP99(pairs), UDPBufferDrops: cpu.udpDrops()}
		if expected := after.Expected - before.Expected; expected > 0 {
			s.LossRatio = float64(int64(after.Lost)-int64(before.Lost)) / float64(expected)
		}
		s.Held = s.LossRatio <= lim.MaxLoss && s.LatencyP99Ms <= ms(lim.MaxLatency)
		c.Steps = append(c.Steps, s)
		if progress != nil {
			progress(s)
		}
		if !s.Held {
			break
		}
		c.Rooms = rooms
	}
	c.GeneratorCores = cpu.generator(0).CPUCores
	return c, nil
}

func windowP99(pairs []*Pair) float64 {
	all := latencyOf(pairs)
	if all.Count() == 0 {
		return 0
	}
	return all.Percentile(99)
}

// WriteTable prints the search for a person.
func (c *Capacity) WriteTable(w io.Writer) {
	if c.ViewTarget != "" {
		fmt.Fprintf(w, "cross-node: viewers on %s, every packet relayed; server CPU is both nodes'\n", c.ViewTarget)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "rooms\tloss\tp99 latency\tserver CPU\tUDP buffer drops\theld")
	for _, s := range c.Steps {
		cores := "n/a"
		if s.ServerCores >= 0 {
			cores = fmt.Sprintf("%.2f cores", s.ServerCores)
		}
		fmt.Fprintf(tw, "%d\t%.3f %%\t%.1f ms\t%s\t%d\t%v\n", s.Rooms, 100*s.LossRatio, s.LatencyP99Ms, cores, s.UDPBufferDrops, s.Held)
	}
	tw.Flush()
	fmt.Fprintf(w, "capacity: %d rooms held the limits (the load generator used %.2f cores of the same machine)\n", c.Rooms, c.GeneratorCores)
}
