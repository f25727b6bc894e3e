package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// soakServer is the `trtcd serve` under soak: a subprocess, so that its RSS
// and goroutines are its own and a crash shows as an exit, not as the
// benchmark dying with it.
type soakServer struct {
	url, rtmp, udp string // http://host:port, host:port, host:port
	pid            int
	exited         chan struct{} // closed when the process has ended
	exitErr        error

	logLines   atomic.Int64 // every line it logged
	panicLines atomic.Int64 // "panic recovered" lines
	mu         sync.Mutex
	tail       []string       // the last lines, for a crash report
	firstPanic string         // the first "panic recovered" line
	messages   map[string]int // lines by level and msg, for what the attack made it log
}

// The lines trtcd logs once each listener is bound.
var (
	soakHTTPRe  = regexp.MustCompile(`msg="http listening".* addr=(\S+)`)
	soakRTMPRe  = regexp.MustCompile(`msg="rtmp listening".* addr=(\S+)`)
	soakMediaRe = regexp.MustCompile(`msg="media listening".* udp=(\S+)`)
)

// soakMsgRe is a log line's level and message.
var soakMsgRe = regexp.MustCompile(`level=(\S+) msg=("[^"]*"|\S+)`)

// messageCounts copies the count of log lines by level and message.
func (s *soakServer) messageCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.messages)
}

// topMessages are the n messages logged most between two counts.
func topMessages(before, after map[string]int, n int) []string {
	type kv struct {
		msg string
		n   int
	}
	var all []kv
	for m, c := range after {
		if d := c - before[m]; d > 0 {
			all = append(all, kv{m, d})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n || all[i].n == all[j].n && all[i].msg < all[j].msg })
	var out []string
	for i := 0; i < len(all) && i < n; i++ {
		out = append(out, fmt.Sprintf("%d × %s", all[i].n, all[i].msg))
	}
	return out
}

// soakTailLines is how much of the log a report can quote.
const soakTailLines = 60

// startSoakServer runs trtcd on 127.0.0.1 (HTTP, RTMP and media UDP on free
// ports, the bench app, info logging as in production, pprof for a
// goroutine dump when goroutines do not come back) and waits until every
// listener is bound.
func startSoakServer(tb testing.TB, bin, dataDir string) *soakServer {
	tb.Helper()
	cmd := exec.Command(bin, "serve", "--http", "127.0.0.1:0", "--udp", "0", "--rtmp", "0", "--ice-tcp", "off",
		"--data", dataDir, "--log-level", "info", "--app", fmt.Sprintf("%d:%s", benchApp, benchKey), "--debug-pprof")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	s := &soakServer{pid: cmd.Process.Pid, exited: make(chan struct{}), messages: map[string]int{}}
	go func() {
		s.exitErr = cmd.Wait()
		pw.Close()
		close(s.exited)
	}()
	tb.Cleanup(func() { cmd.Process.Kill(); <-s.exited })
	ready := make(chan struct{})
	go s.readLog(pr, ready)
	select {
	case <-ready:
		return s
	case <-s.exited:
		tb.Fatalf("trtcd exited at start (%v):\n%s", s.exitErr, s.lastLines())
	case <-time.After(30 * time.Second):
		tb.Fatalf("trtcd did not bind its listeners in 30 s:\n%s", s.lastLines())
	}
	return nil
}

// readLog follows the server's log: the listeners' addresses, then counts
// and a tail.
func (s *soakServer) readLog(r io.Reader, ready chan struct{}) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		s.logLines.Add(1)
		s.mu.Lock()
		if len(s.tail) == soakTailLines {
			s.tail = s.tail[1:]
		}
		s.tail = append(s.tail, line)
		if m := soakMsgRe.FindStringSubmatch(line); m != nil {
			s.messages[m[1]+" "+m[2]]++
		}
		if strings.Contains(line, "panic recovered") {
			if s.panicLines.Add(1) == 1 {
				s.firstPanic = line
			}
		}
		s.noteListener(line, ready)
		s.mu.Unlock()
	}
	io.Copy(io.Discard, r)
}

// noteListener records an address from a "listening" line; ready closes
// once all three are known. Called with s.mu held.
func (s *soakServer) noteListener(line string, ready chan struct{}) {
	if s.url != "" && s.rtmp != "" && s.udp != "" {
		return
	}
	if m := soakHTTPRe.FindStringSubmatch(line); m != nil {
		s.url = "http://" + m[1]
	}
	if m := soakRTMPRe.FindStringSubmatch(line); m != nil {
		s.rtmp = m[1]
	}
	if m := soakMediaRe.FindStringSubmatch(line); m != nil {
		s.udp = m[1]
	}
	if s.url != "" && s.rtmp != "" && s.udp != "" {
		close(ready)
	}
}

func (s *soakServer) lastLines() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, "\n")
}

func (s *soakServer) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// target is the server as the bench's clients reach it: from 127.0.0.1.
func (s *soakServer) target() Target {
	return Target{Name: "trtcd", URL: s.url, PID: s.pid, Auth: benchAuth, App: benchApp, RTMP: "rtmp://" + s.rtmp}
}

// soakSample is the server's state at one moment.
type soakSample struct {
	At      time.Time
	RSSMiB  float64 // VmRSS from /proc
	HeapMiB float64 // go_memstats_heap_inuse_bytes: what RSS would return to once the scavenger catches up
	// HeldMiB is RSS less the heap the Go runtime has freed but not yet
	// handed back (heap_idle − heap_released): its scavenger returns that
	// over minutes, so raw RSS cannot be back in 10 s even without a leak,
	// while memory still referenced or leaked stays in HeldMiB.
	HeldMiB    float64
	Goroutines float64 // go_goroutines
	Panics     float64 // trtcd_panics_total over every component
	ByPart     map[string]float64
	Err        error // /proc or /metrics could not be read
}

// soakMetricsClient scrapes from 127.0.0.1 with a deadline: a server too
// busy to answer within it is a finding, not a hang.
var soakMetricsClient = &http.Client{Timeout: 5 * time.Second}

// sample reads /proc/PID/status and /metrics.
func (s *soakServer) sample() soakSample {
	out := soakSample{At: time.Now()}
	rss, err := ProcessRSS(s.pid)
	if err != nil {
		out.Err = err
		return out
	}
	out.RSSMiB = float64(rss) / (1 << 20)
	text, err := s.metricsText()
	if err != nil {
		out.Err = err
		return out
	}
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		out.Err = err
		return out
	}
	out.Goroutines, out.HeapMiB = m["go_goroutines"], m["go_memstats_heap_inuse_bytes"]/(1<<20)
	out.HeldMiB = out.RSSMiB - (m["go_memstats_heap_idle_bytes"]-m["go_memstats_heap_released_bytes"])/(1<<20)
	out.Panics, out.ByPart = m["trtcd_panics_total"], panicsByComponent(text)
	return out
}

func (s *soakServer) metricsText() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/metrics", nil)
	resp, err := soakMetricsClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: HTTP %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return string(b), err
}

// soakPanicRe is one component's panic counter in the exposition format.
var soakPanicRe = regexp.MustCompile(`^trtcd_panics_total\{[^}]*component="([^"]*)"[^}]*\}\s+(\S+)`)

func panicsByComponent(text string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if m := soakPanicRe.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			out[m[1]] += v
		}
	}
	return out
}

// baseline is the median of n samples a second apart: one sample can land
// on a GC or a keyframe burst.
func (s *soakServer) baseline(n int) soakSample {
	var all []soakSample
	for i := range n {
		if i > 0 {
			time.Sleep(time.Second)
		}
		if x := s.sample(); x.Err == nil {
			all = append(all, x)
		}
	}
	if len(all) == 0 {
		return soakSample{At: time.Now(), Err: fmt.Errorf("no sample of %d could be read", n)}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Goroutines < all[j].Goroutines })
	mid := all[len(all)/2]
	sort.Slice(all, func(i, j int) bool { return all[i].RSSMiB < all[j].RSSMiB })
	mid.RSSMiB, mid.HeldMiB = all[len(all)/2].RSSMiB, all[len(all)/2].HeldMiB
	return mid
}
