package bench

import (
	"os"
	"time"
)

// serverSample is a server's counters at one moment.
type serverSample struct {
	CPU          time.Duration // user+system so far
	RSS          uint64
	Forwarded    uint64        // RTP packets written to subscribers (trtcd only)
	UDPDrops     uint64        // datagrams dropped on its own sockets (pid known)
	RunQueueWait time.Duration // runnable, waiting for a CPU (pid known)
	hasCPU       bool
	hasForwarded bool
	hasPID       bool // UDPDrops and RunQueueWait were read
}

// serverProbe reads a server's CPU and memory from /proc when its pid is
// known, or else from its /metrics (trtcd's process collector); the
// forwarded-packet counter comes from /metrics whenever the server has it.
// In a cross-node run it reads both nodes and adds their figures up: the
// relay's cost is on both sides.
type serverProbe struct {
	pid        int
	metricsURL string // "" when the server has no usable /metrics
	Source     string // "/proc", "/metrics" or "" when not measured
	view       *serverProbe
}

func newServerProbe(pid int, t Target) *serverProbe {
	p := probeOne(pid, t.URL)
	if t.CrossNode() {
		p.view = probeOne(t.ViewPID, t.ViewURL)
		switch {
		case p.Source == "" || p.view.Source == "":
			p.Source = "" // one node alone is not what the viewers cost
		case p.Source == p.view.Source:
			p.Source += ", both nodes"
		default:
			p.Source += " + " + p.view.Source + ", both nodes"
		}
	}
	return p
}

func probeOne(pid int, url string) *serverProbe {
	p := &serverProbe{pid: pid}
	if url != "" {
		if m, err := scrapeMetrics(url + "/metrics"); err == nil {
			_, cpu := m[metricCPUSeconds]
			_, fwd := m[metricForwarded]
			if cpu || fwd {
				p.metricsURL = url + "/metrics"
			}
			if pid == 0 && cpu {
				p.Source = "/metrics"
			}
		}
	}
	if pid != 0 {
		p.Source = "/proc"
	}
	return p
}

func (p *serverProbe) sample() serverSample {
	s := p.sampleOne()
	if p.view != nil {
		v := p.view.sampleOne()
		s.CPU += v.CPU
		s.RSS += v.RSS
		s.Forwarded += v.Forwarded
		s.UDPDrops += v.UDPDrops
		s.RunQueueWait += v.RunQueueWait
		s.hasCPU = s.hasCPU && v.hasCPU
		s.hasForwarded = s.hasForwarded && v.hasForwarded
		s.hasPID = s.hasPID && v.hasPID
	}
	return s
}

func (p *serverProbe) sampleOne() serverSample {
	var s serverSample
	if p.metricsURL != "" {
		if m, err := scrapeMetrics(p.metricsURL); err == nil {
			if v, ok := m[metricForwarded]; ok {
				s.Forwarded, s.hasForwarded = uint64(v), true
			}
			if v, ok := m[metricCPUSeconds]; ok && p.pid == 0 {
				s.CPU, s.hasCPU = time.Duration(v*float64(time.Second)), true
				s.RSS = uint64(m[metricRSSBytes])
			}
		}
	}
	if p.pid != 0 {
		if c, err := ProcessCPU(p.pid); err == nil {
			s.CPU, s.hasCPU = c, true
		}
		s.RSS, _ = ProcessRSS(p.pid)
		drops, err1 := ProcessUDPDrops(p.pid)
		wait, err2 := ProcessRunQueueWait(p.pid)
		s.UDPDrops, s.RunQueueWait, s.hasPID = drops, wait, err1 == nil && err2 == nil
	}
	return s
}

// cpuWatch reads the server's and the generator's CPU over the run's
// steady state.
type cpuWatch struct {
	probe          *serverProbe
	markAt, lastAt time.Time
	mark, last     serverSample
	markSelf       time.Duration
	markUDPDrops   uint64
}

func newCPUWatch(probe *serverProbe) *cpuWatch {
	w := &cpuWatch{probe: probe, lastAt: time.Now(), last: probe.sample()}
	w.markAt, w.mark = w.lastAt, w.last
	w.markSelf, _ = ProcessCPU(os.Getpid())
	w.markUDPDrops, _ = UDPReceiveBufferErrors()
	return w
}

// markNow starts the measured window.
func (w *cpuWatch) markNow() {
	w.markAt, w.mark = time.Now(), w.probe.sample()
	w.markSelf, _ = ProcessCPU(os.Getpid())
	w.markUDPDrops, _ = UDPReceiveBufferErrors()
}

// udpDrops is the machine's UDP receive-buffer drops since the mark.
func (w *cpuWatch) udpDrops() uint64 {
	n, err := UDPReceiveBufferErrors()
	if err != nil || n < w.markUDPDrops {
		return 0
	}
	return n - w.markUDPDrops
}

func (w *cpuWatch) elapsed() time.Duration { return time.Since(w.markAt) }

// interval is the server's cores busy since the last call (-1: unknown).
func (w *cpuWatch) interval() float64 { return w.next().Cores }

// serverLoad is the server's work between two calls of cpuWatch.next.
type serverLoad struct {
	Cores float64 // -1 when not measured
	// ForwardedPerSecond is the server's own count of packets written to
	// subscribers, per second; -1 when it has none (not trtcd).
	ForwardedPerSecond float64
	// UDPDrops is the datagrams the kernel dropped on the server's own
	// sockets for a full receive buffer; -1 when its pid is not known.
	UDPDrops int64
	// RunQueueWait is the share of the time the server's threads spent
	// runnable but waiting for a CPU (seconds per second, summed over
	// threads); -1 when its pid is not known.
	RunQueueWait float64
}

// next is the server's load since the last call.
func (w *cpuWatch) next() serverLoad {
	now, s := time.Now(), w.probe.sample()
	l, seconds := serverLoad{Cores: -1, ForwardedPerSecond: -1, UDPDrops: -1, RunQueueWait: -1}, now.Sub(w.lastAt).Seconds()
	if w.probe.Source != "" && s.hasCPU && w.last.hasCPU && seconds > 0 {
		l.Cores = (s.CPU - w.last.CPU).Seconds() / seconds
	}
	if s.hasForwarded && w.last.hasForwarded && s.Forwarded >= w.last.Forwarded && seconds > 0 {
		l.ForwardedPerSecond = float64(s.Forwarded-w.last.Forwarded) / seconds
	}
	if s.hasPID && w.last.hasPID && seconds > 0 {
		l.UDPDrops = max(int64(s.UDPDrops)-int64(w.last.UDPDrops), 0)
		l.RunQueueWait = max((s.RunQueueWait-w.last.RunQueueWait).Seconds()/seconds, 0)
	}
	w.lastAt, w.last = now, s
	return l
}

// server is the server's CPU and memory since the mark, per packet
// delivered to the viewers in that time and per packet the server
// counted as forwarded; nil when the server is not measured.
func (w *cpuWatch) server(delivered uint64) *Resources {
	if w.probe.Source == "" {
		return nil
	}
	s := w.probe.sample()
	if !s.hasCPU || !w.mark.hasCPU {
		return nil
	}
	cpu := s.CPU - w.mark.CPU
	r := &Resources{Source: w.probe.Source, CPUCores: cpu.Seconds() / w.elapsed().Seconds(), RSSMiB: float64(s.RSS) / (1 << 20)}
	if delivered > 0 {
		r.MicrosPerPacket = float64(cpu.Microseconds()) / float64(delivered)
	}
	if s.hasForwarded && w.mark.hasForwarded && s.Forwarded > w.mark.Forwarded {
		r.ForwardedPackets = s.Forwarded - w.mark.Forwarded
		r.MicrosPerForwarded = float64(cpu.Microseconds()) / float64(r.ForwardedPackets)
	}
	return r
}

// generator is this process's CPU since the mark, per packet it sent or
// received in that time (when packets is not 0), and its memory now.
func (w *cpuWatch) generator(packets uint64) Resources {
	var r Resources
	if c, err := ProcessCPU(os.Getpid()); err == nil {
		r.CPUCores = (c - w.markSelf).Seconds() / w.elapsed().Seconds()
		if packets > 0 {
			r.MicrosPerPacket = float64((c - w.markSelf).Microseconds()) / float64(packets)
		}
	}
	if rss, err := ProcessRSS(os.Getpid()); err == nil {
		r.RSSMiB = float64(rss) / (1 << 20)
	}
	return r
}
