// Package panics is the last line of defence of every per-connection
// goroutine: a bug that a client's input reaches ends that connection (or
// that packet), not the process and every room on it. Recovering is never
// instead of fixing: each panic is counted, and its stack logged, so that
// it gets fixed.
package panics

import (
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Total counts recovered panics by component; the server registers it.
var Total = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "trtcd_panics_total",
	Help: "Panics recovered in a connection's or packet's goroutine; each is a bug (its stack is in the log).",
}, []string{"component"})

// Components name where a panic was recovered.
const (
	RTMP    = "rtmp"
	FLV     = "flv"
	WS      = "ws"
	WebSDK  = "websdk"
	Relay   = "relay"
	Media   = "media"
	Ingest  = "ingest"
	Player  = "player"
	Record  = "record"
	HTTP    = "http"
	Cluster = "cluster"
)

// One stack per component a minute is enough to fix the bug, and one line
// a second says it goes on: a client that repeats it (a panic on every
// packet is 50 a second) cannot flood the log. The metric counts them all.
const (
	stackEvery = time.Minute
	lineEvery  = time.Second
)

var (
	mu        sync.Mutex
	lastStack = map[string]time.Time{}
	lastLine  = map[string]time.Time{}
	unlogged  = map[string]int{}
)

// Recover, deferred directly (defer panics.Recover(panics.RTMP, log)),
// stops a panic, counts it and logs it. The goroutine then returns as if
// its work had ended.
func Recover(component string, log *slog.Logger) {
	v := recover()
	if v == nil {
		return
	}
	Report(component, v, log)
}

// Report counts and logs a panic value recovered by the caller.
func Report(component string, v any, log *slog.Logger) {
	Total.WithLabelValues(component).Inc()
	if log == nil {
		log = slog.Default()
	}
	now := time.Now()
	mu.Lock()
	withStack := now.Sub(lastStack[component]) >= stackEvery
	withLine := withStack || now.Sub(lastLine[component]) >= lineEvery
	skipped := unlogged[component]
	switch {
	case withLine:
		lastLine[component], unlogged[component] = now, 0
		if withStack {
			lastStack[component] = now
		}
	default:
		unlogged[component]++
	}
	mu.Unlock()
	const msg = "panic recovered; the connection or packet is dropped"
	switch {
	case withStack:
		log.Error(msg, "where", component, "panic", v, "alike_not_logged", skipped, "stack", string(debug.Stack()))
	case withLine:
		log.Error(msg, "where", component, "panic", v, "alike_not_logged", skipped)
	}
}

// Go runs f in a goroutine that recovers a panic as Recover does.
func Go(component string, log *slog.Logger, f func()) {
	go func() {
		defer Recover(component, log)
		f()
	}()
}

// Count is how many panics component has recovered (for tests).
func Count(component string) float64 {
	var m dto.Metric
	if err := Total.WithLabelValues(component).Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}
