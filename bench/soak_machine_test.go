package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The soak shares the machine with its own clients and with whatever else
// runs there. When other work takes the CPUs, or the load generator itself
// cannot run, poor delivery and gaps may be the machine's and not the
// server's: the report says so.

// stallClock measures the longest time the bench process went without
// running a goroutine that wants to run every 50 ms.
type stallClock struct{ longest atomic.Int64 }

// run ticks until ctx ends.
func (c *stallClock) run(ctx context.Context) {
	const every = 50 * time.Millisecond
	last := time.Now()
	for sleepCtx(ctx, every) {
		now := time.Now()
		if late := now.Sub(last) - every; late > time.Duration(c.longest.Load()) {
			c.longest.Store(int64(late))
		}
		last = now
	}
}

// reset starts the measurement over.
func (c *stallClock) reset()               { c.longest.Store(0) }
func (c *stallClock) worst() time.Duration { return time.Duration(c.longest.Load()) }

// cpuShare measures the CPU the rest of the machine used while the soak
// ran: every CPU's busy time (/proc/stat) less the soak's own processes'
// (the server, this process, ffmpeg).
type cpuShare struct {
	pids           func() []int
	machine0, our0 time.Duration
	at             time.Time
}

func startCPUShare(pids func() []int) *cpuShare {
	c := &cpuShare{pids: pids, at: time.Now()}
	c.machine0, _ = machineCPU()
	c.our0 = ourCPU(pids())
	return c
}

// others is how many cores other work kept busy on average since the start.
func (c *cpuShare) others() float64 {
	m, err := machineCPU()
	if err != nil {
		return 0
	}
	busy := (m - c.machine0) - (ourCPU(c.pids()) - c.our0)
	return max(busy.Seconds(), 0) / time.Since(c.at).Seconds()
}

// machineCPU is the busy time of every CPU so far (the first line of
// /proc/stat: user, nice, system, irq, softirq and steal).
func machineCPU() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("unexpected /proc/stat")
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * clockTick, nil
}

func ourCPU(pids []int) (sum time.Duration) {
	for _, pid := range pids {
		if d, err := ProcessCPU(pid); err == nil {
			sum += d
		}
	}
	return sum
}

// machineBusy says whether the figures may be the machine's: the load
// generator stalled for over a second, or other work kept half a core or
// more busy.
func machineBusy(stall time.Duration, otherCores float64) bool {
	return stall > time.Second || otherCores >= 0.5
}

func cores() int { return runtime.NumCPU() }
