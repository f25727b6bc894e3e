package bench

import (
	"os"
	"time"
)

// serverSample is a server's counters at one moment.
type serverSample struct {
	CPU          time.Duration // user+system so far
	RSS          uint64
	Forwarded    uint64 // RTP packets written to subscribers (trtcd only)
	hasCPU       bool
	hasForwarded bool
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
		s.hasCPU = s.hasCPU && v.hasCPU
		s.hasForwarded = s.hasForwarded && v.hasForwarded
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
func (w *cpuWatch) interval() float64 {
	if w.probe.Source == "" {
		return -1
	}
	now, s := time.Now(), w.probe.sample()
	if !s.hasCPU || !w.last.hasCPU {
		w.lastAt, w.last = now, s
		return -1
	}
	cores := (s.CPU - w.last.CPU).Seconds() / now.Sub(w.lastAt).Seconds()
	w.lastAt, w.last = now, s
	return cores
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
