package sfu

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// dropReason says why a packet was not forwarded.
type dropReason int

const (
	dropMalformed       dropReason = iota // not RTP
	dropDuplicate                         // already forwarded
	dropResendQueueFull                   // too many NACKs at once
	dropResendBudget                      // NACKed past the subscriber's resend budget
	dropWaitKeyframe                      // a new viewer waits for a keyframe
	dropWriteError                        // the subscriber's transport failed
	dropSlowSubscriber                    // a queued subscriber fell too far behind
	dropOverRate                          // a WebRTC publisher's track past Config.PublishKbps
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{"malformed", "duplicate", "resend_queue_full", "resend_budget", "waiting_keyframe", "write_error", "slow_subscriber", "over_publish_rate"}

// latencySampleEvery: the forwarding latency is observed on one packet in
// 16, which is plenty for a histogram and keeps the shared histogram's
// atomics off most packets.
const latencySampleEvery = 16

// trackStats are the counters of one track and its sinks. Each is written
// by one goroutine with an atomic add and summed only when scraped.
type trackStats struct {
	m *Metrics

	packets, bytes             atomic.Uint64 // received from the source
	sentPackets, sentBytes     atomic.Uint64 // written to subscribers
	nacks                      atomic.Uint64 // NACK entries received from subscribers
	nacksAnswered, nacksMissed atomic.Uint64 // packets resent / not in the cache
	keyframeRequests           atomic.Uint64 // PLIs sent to the publisher
	keyframeRequestsThrottled  atomic.Uint64
	keyframeRequestsRefused    atomic.Uint64 // over a subscriber's keyframeBudget
	dropped                    [numDropReasons]atomic.Uint64
}

func (s *trackStats) observeLatency(ns int64) {
	if s.m != nil {
		s.m.latency.Observe(float64(ns) / 1e9)
	}
}

// Metrics collects the SFU's Prometheus metrics. Counters live in each
// track and are summed at scrape time, so forwarding touches no shared
// counter.
type Metrics struct {
	latency prometheus.Histogram

	mu      sync.Mutex
	live    map[*trackStats]struct{}
	retired [counterCount]uint64

	gauges []prometheus.Collector
}

func NewMetrics() *Metrics {
	return &Metrics{
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trtcd_sfu_forwarding_latency_seconds",
			Help:    "Time from reading a packet to having written it to every subscriber (sampled).",
			Buckets: []float64{5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 5e-3, 25e-3},
		}),
		live: map[*trackStats]struct{}{},
	}
}

func (m *Metrics) newTrackStats() *trackStats {
	s := &trackStats{m: m}
	if m != nil {
		m.mu.Lock()
		m.live[s] = struct{}{}
		m.mu.Unlock()
	}
	return s
}

// retire folds a finished track's counters into the totals.
func (m *Metrics) retire(s *trackStats) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.live, s)
	for i, v := range s.values() {
		m.retired[i] += v
	}
}

// The counters, in the order values() returns them; the bytes ones by name.
const (
	counterBytesReceived  = 1
	counterBytesForwarded = 3
)

const counterCount = namedCounters + int(numDropReasons)

const namedCounters = 10

var counterDescs = func() []*prometheus.Desc {
	d := []*prometheus.Desc{
		prometheus.NewDesc("trtcd_sfu_packets_received_total", "RTP packets received from publishers.", nil, nil),
		prometheus.NewDesc("trtcd_sfu_bytes_received_total", "RTP bytes received from publishers.", nil, nil),
		prometheus.NewDesc("trtcd_sfu_packets_forwarded_total", "RTP packets written to subscribers.", nil, nil),
		prometheus.NewDesc("trtcd_sfu_bytes_forwarded_total", "RTP bytes written to subscribers.", nil, nil),
		prometheus.NewDesc("trtcd_sfu_nacks_received_total", "Packets asked for again by subscribers (NACK entries).", nil, nil),
		prometheus.NewDesc("trtcd_sfu_nacks_answered_total", "NACKed packets resent from the packet cache.", nil, nil),
		prometheus.NewDesc("trtcd_sfu_nacks_missed_total", "NACKed packets no longer (or never) in the cache.", nil, nil),
		prometheus.NewDesc("trtcd_sfu_keyframe_requests_total", "Keyframe requests (PLI) sent to publishers.", nil, nil),
		prometheus.NewDesc("trtcd_sfu_keyframe_requests_throttled_total", "Keyframe requests held back by the 500 ms throttle.", nil, nil),
		prometheus.NewDesc("trtcd_sfu_keyframe_requests_refused_total", "Subscribers' keyframe requests over their budget (4 at once, then one per 2 s each).", nil, nil),
	}
	drop := prometheus.NewDesc("trtcd_sfu_packets_dropped_total", "Packets not forwarded, by reason.", []string{"reason"}, nil)
	for range numDropReasons {
		d = append(d, drop)
	}
	return d
}()

func (s *trackStats) values() [counterCount]uint64 {
	v := [counterCount]uint64{
		s.packets.Load(), s.bytes.Load(), s.sentPackets.Load(), s.sentBytes.Load(),
		s.nacks.Load(), s.nacksAnswered.Load(), s.nacksMissed.Load(), s.keyframeRequests.Load(),
		s.keyframeRequestsThrottled.Load(), s.keyframeRequestsRefused.Load(),
	}
	for i := range numDropReasons {
		v[namedCounters+int(i)] = s.dropped[i].Load()
	}
	return v
}

// totals sums the counters of the live tracks and the retired ones.
func (m *Metrics) totals() [counterCount]uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	total := m.retired
	for s := range m.live {
		for i, v := range s.values() {
			total[i] += v
		}
	}
	return total
}

// AddGauge registers a gauge reported with the SFU's metrics.
func (m *Metrics) AddGauge(name, help string, f func() float64) {
	m.gauges = append(m.gauges, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.latency.Describe(ch)
	for _, d := range counterDescs[:namedCounters+1] {
		ch <- d
	}
	for _, g := range m.gauges {
		g.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.latency.Collect(ch)
	for i, v := range m.totals() {
		if i < namedCounters {
			ch <- prometheus.MustNewConstMetric(counterDescs[i], prometheus.CounterValue, float64(v))
		} else {
			ch <- prometheus.MustNewConstMetric(counterDescs[i], prometheus.CounterValue, float64(v), dropReasonNames[i-namedCounters])
		}
	}
	for _, g := range m.gauges {
		g.Collect(ch)
	}
}
