package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkSoak is the chaos soak (make soak; issue 16): good rooms of
// every kind run on a real `trtcd serve` while hostile clients hit every
// listener from other loopback addresses, and the soak reports the good
// rooms' delivery, the panics the server recovered, and its RSS and
// goroutines before, at their peak during and 10 s after the attack. It
// fails when a target is missed. Run it with -benchtime 1x:
//
//	go test -run '^$' -bench '^BenchmarkSoak$' -benchtime 1x -timeout 20m ./bench
//
// SOAK_SECONDS (default 120) is how long the attack lasts, SOAK_ROOMS
// (default 20) how many good rooms run, split 10:6:4 between WHIP/WHEP,
// /ws and RTMP pushed by ffmpeg and played over HTTP-FLV. The recovery
// targets are SOAK_RECOVERY_SECONDS (10), SOAK_RSS_SLACK_PCT (20) and
// SOAK_GOROUTINE_SLACK (25); SOAK_PROFILE_DIR keeps the server's heap
// profiles (baseline, peak, after) for go tool pprof.
func BenchmarkSoak(b *testing.B) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		b.Fatal("the soak's RTMP rooms push with ffmpeg (libx264 and aac): install it")
	}
	cfg := soakConfigFromEnv()
	for range b.N {
		r := runSoak(b, cfg)
		r.write(os.Stdout)
		r.reportMetrics(b)
		for _, miss := range r.missed() {
			b.Error(miss)
		}
	}
}

// soakConfig is one soak's load and targets.
type soakConfig struct {
	Duration time.Duration // how long the hostile clients run
	Rooms    int           // good rooms
	Kbps     int           // each good publisher's video
	FPS      int
	// Warmup is how long the good rooms run before the baseline: their
	// first keyframes and the server's first allocations are not what
	// the attack did.
	Warmup time.Duration
	// Recovery is how long after the attack RSS and goroutines must be
	// back within RSSSlack and GoroutineSlack of the baseline.
	Recovery       time.Duration
	RSSSlack       float64 // a fraction of the baseline
	GoroutineSlack int
	MinDelivery    float64       // per kind of room
	MaxGap         time.Duration // the longest a good room may go without media
	ProfileDir     string        // where heap profiles go ("": a temporary directory)
}

func soakConfigFromEnv() soakConfig {
	return soakConfig{Duration: time.Duration(envInt("SOAK_SECONDS", 120)) * time.Second, Rooms: max(envInt("SOAK_ROOMS", 20), 3),
		Kbps: 300, FPS: 15, Warmup: 5 * time.Second, Recovery: time.Duration(envInt("SOAK_RECOVERY_SECONDS", 10)) * time.Second,
		RSSSlack: float64(envInt("SOAK_RSS_SLACK_PCT", 20)) / 100, GoroutineSlack: envInt("SOAK_GOROUTINE_SLACK", 25),
		MinDelivery: 0.99, MaxGap: 3 * time.Second, ProfileDir: os.Getenv("SOAK_PROFILE_DIR")}
}

// total bounds everything the soak runs (ffmpeg's -t): setup, the attack,
// the wait for attackers to stop, the recovery.
func (c soakConfig) total() time.Duration { return c.Warmup + c.Duration + c.Recovery + 2*time.Minute }

// soakKindResult is the delivery of one kind of good room.
type soakKindResult struct {
	kind, label, unit  string
	rooms              int
	received, expected uint64
	longestGap         time.Duration
	gapRoom            string
	problems           []string
}

func (k soakKindResult) delivery() float64 {
	if k.expected == 0 {
		return 0
	}
	return float64(k.received) / float64(k.expected)
}

// soakReport is everything a soak measured.
type soakReport struct {
	cfg                 soakConfig
	pid                 int
	kinds               []soakKindResult
	before, peak, after soakSample
	// heldBefore and heldAfter: RSS held right after a forced GC, at the
	// baseline and at the end of the recovery window.
	heldBefore, heldAfter float64
	recoveredIn           time.Duration // when RSS and goroutines were first back; 0: not within Recovery
	samples, unanswered   int           // /metrics samples during the attack, and those that failed
	attackFor             time.Duration
	attackLogLines        int64
	topMessages           []string // what the server logged most during the attack
	attackersLingered     bool     // some attacker had not returned 15 s after the end
	attacks               []*attack
	alive                 bool
	exit                  string // how the server ended, when it did
	lastLog               string
	panicLines            int64
	firstPanic            string
	recovery              []soakSample // each second of the recovery
	profiles              string       // the heap profiles' directory
	stacksBefore          map[string]int
	stacksAfter           map[string]int
	goroutinesLeft        string  // the stacks that grew, when goroutines did not come back
	heapAtPeak            string  // pprof -top of the heap at the peak over the baseline
	heapAfter             string  // and after the recovery, when RSS or the live heap did not come back
	liveBefore            float64 // MiB the heap holds right after a GC, at the baseline
	liveAfter             float64 // and at the end of the recovery (after its last sample)
	otherCores            float64 // cores other work on the machine kept busy, on average, over the attack and the recovery
	generatorStall        time.Duration
	udpDrops              uint64 // datagrams the kernel dropped for full receive buffers, machine-wide
}

// busy says whether the machine, not the server, may explain poor
// delivery or gaps.
func (r *soakReport) busy() bool { return machineBusy(r.generatorStall, r.otherCores) }

// runSoak starts the server and the good rooms, takes the baseline, runs
// the attack, waits out the recovery and measures.
func runSoak(b *testing.B, cfg soakConfig) *soakReport {
	dir := b.TempDir()
	bin := buildBinary(b, dir, "github.com/trtcd/trtcd/cmd/trtcd")
	srv := startSoakServer(b, bin, filepath.Join(dir, "data"))
	r := &soakReport{cfg: cfg, pid: srv.pid, profiles: cfg.ProfileDir}
	if r.profiles == "" {
		r.profiles = filepath.Join(dir, "profiles")
	}
	if err := os.MkdirAll(r.profiles, 0o755); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	progress("trtcd (pid %d) on %s; starting %d good rooms", srv.pid, srv.url, cfg.Rooms)
	rooms, err := startGoodRooms(ctx, srv, cfg)
	defer func() {
		for _, room := range rooms {
			room.close()
		}
	}()
	if err != nil {
		b.Fatalf("the good rooms did not start: %v\nserver log:\n%s", err, srv.lastLines())
	}
	watch, clock := newStallWatch(rooms), &stallClock{}
	go watch.run(ctx)
	go clock.run(ctx)
	time.Sleep(cfg.Warmup)
	r.before = srv.baseline(3)
	if r.before.Err != nil {
		b.Fatalf("no baseline: %v", r.before.Err)
	}
	r.profileBaseline(srv)
	marks := markRooms(rooms)
	watch.reset()
	clock.reset()
	share := startCPUShare(func() []int { return append(roomPIDs(rooms), os.Getpid(), srv.pid) })
	drops0, _ := UDPReceiveBufferErrors()
	progress("baseline: RSS %.1f MiB, %.0f goroutines; attacking for %s", r.before.RSSMiB, r.before.Goroutines, cfg.Duration)
	r.attack(srv)
	r.recover(srv)
	r.generatorStall, r.otherCores = clock.worst(), share.others()
	if drops1, err := UDPReceiveBufferErrors(); err == nil {
		r.udpDrops = drops1 - drops0
	}
	r.kinds = kindResults(rooms, marks, watch)
	r.finish(srv)
	return r
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "soak %s: "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// markRooms takes every room's counts at the start of the attack.
func markRooms(rooms []*soakRoom) [][2]uint64 {
	marks := make([][2]uint64, len(rooms))
	for i, room := range rooms {
		marks[i][0], marks[i][1] = room.count()
	}
	return marks
}

// attack runs every hostile client for cfg.Duration, sampling the server
// each second for the peak, and returns once they have all stopped (or 15
// s after the end, if one has not).
func (r *soakReport) attack(srv *soakServer) {
	d := r.cfg.Duration
	attacks := append(append(append(append(httpAttacks(srv, d), wsAttacks(srv, d)...), rtmpAttacks(srv, d)...),
		mutatedAttacks(srv, d)...), mediaAttacks(srv, d)...)
	r.attacks = attacks
	logs0, msgs0, start := srv.logLines.Load(), srv.messageCounts(), time.Now()
	actx, stop := context.WithTimeout(context.Background(), r.cfg.Duration)
	defer stop()
	done := launch(actx, attacks)
	r.peak = r.before
	profiled := false
	for sleepCtx(actx, time.Second) && srv.alive() {
		if !profiled && time.Since(start) > r.cfg.Duration*4/5 { // the floods are at their height by then
			profiled = srv.saveHeapProfile(profilePath(r.profiles, "peak"), false) == nil
		}
		s := srv.sample()
		r.samples++
		if s.Err != nil {
			r.unanswered++
			continue
		}
		r.peak = peakOf(r.peak, s)
	}
	stop()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		r.attackersLingered = true
	}
	r.attackFor, r.attackLogLines = time.Since(start), srv.logLines.Load()-logs0
	r.topMessages = topMessages(msgs0, srv.messageCounts(), 6)
	progress("attack over after %s; %d log lines; recovering for %s", r.attackFor.Round(time.Second), r.attackLogLines, r.cfg.Recovery)
}

func peakOf(p, s soakSample) soakSample {
	p.RSSMiB, p.HeapMiB, p.Goroutines = max(p.RSSMiB, s.RSSMiB), max(p.HeapMiB, s.HeapMiB), max(p.Goroutines, s.Goroutines)
	p.HeldMiB = max(p.HeldMiB, s.HeldMiB)
	p.Panics, p.ByPart = max(p.Panics, s.Panics), s.ByPart
	return p
}

// recover samples the server each second for cfg.Recovery after the
// hostile clients stopped; the last sample is "after". Right after it, the
// goroutine stacks and the live heap are read for what stayed.
func (r *soakReport) recover(srv *soakServer) {
	defer func() {
		if srv.alive() {
			r.stacksAfter, _ = srv.goroutineStacks()
			r.liveAfter, _ = srv.liveHeap(profilePath(r.profiles, "after"))
			if s := srv.sample(); s.Err == nil {
				r.heldAfter = s.HeldMiB
			}
		}
	}()
	stopped := time.Now()
	for time.Since(stopped) < r.cfg.Recovery && srv.alive() {
		time.Sleep(time.Second)
		s := srv.sample()
		r.after = s
		r.recovery = append(r.recovery, s)
		if s.Err != nil {
			continue
		}
		if r.recoveredIn == 0 && r.rssBack(s) && r.goroutinesBack(s) {
			r.recoveredIn = time.Since(stopped)
		}
	}
}

// The RSS target compares the RSS held right after a forced GC, on both
// sides: garbage not collected yet is no more a leak than freed memory not
// yet returned.
func (r *soakReport) rssLimit() float64 { return r.heldBefore * (1 + r.cfg.RSSSlack) }
func (r *soakReport) goroutineLimit() float64 {
	return r.before.Goroutines + float64(r.cfg.GoroutineSlack)
}
func (r *soakReport) rssBack(s soakSample) bool { return s.Err == nil && s.HeldMiB <= r.rssLimit() }
func (r *soakReport) rssBackAfterGC() bool      { return r.heldAfter > 0 && r.heldAfter <= r.rssLimit() }
func (r *soakReport) goroutinesBack(s soakSample) bool {
	return s.Err == nil && s.Goroutines <= r.goroutineLimit()
}

// kindResults sums the rooms' counts since the marks by kind.
func kindResults(rooms []*soakRoom, marks [][2]uint64, watch *stallWatch) []soakKindResult {
	var out []soakKindResult
	for _, k := range soakKinds {
		res := soakKindResult{kind: k.kind, label: k.label, unit: k.unit}
		for i, room := range rooms {
			if room.kind != k.kind {
				continue
			}
			rcv, exp := room.count()
			res.rooms++
			res.received += rcv - marks[i][0]
			res.expected += exp - marks[i][1]
			if g := watch.longestOf(i); g > res.longestGap {
				res.longestGap, res.gapRoom = g, room.name
			}
			if p := room.problem(); p != "" {
				res.problems = append(res.problems, "room "+room.name+": "+p)
			}
		}
		if res.rooms > 0 {
			out = append(out, res)
		}
	}
	return out
}

// finish notes the server's state at the end: alive, its panics, and what
// grew in its heap and goroutines.
func (r *soakReport) finish(srv *soakServer) {
	r.alive = srv.alive()
	if !r.alive {
		r.exit = fmt.Sprint(srv.exitErr)
		r.lastLog = srv.lastLines()
	}
	r.panicLines = srv.panicLines.Load()
	srv.mu.Lock()
	r.firstPanic = srv.firstPanic
	srv.mu.Unlock()
	if !r.alive {
		return
	}
	r.heapAtPeak = heapGrowth(profilePath(r.profiles, "baseline"), profilePath(r.profiles, "peak"), 15)
	if !r.rssBackAfterGC() || r.liveAfter > r.liveBefore*(1+r.cfg.RSSSlack) {
		r.heapAfter = heapGrowth(profilePath(r.profiles, "baseline"), profilePath(r.profiles, "after"), 15)
	}
	if !r.goroutinesBack(r.after) && r.stacksBefore != nil && r.stacksAfter != nil {
		r.goroutinesLeft = goroutineGrowth(r.stacksBefore, r.stacksAfter, 12)
	}
}

// profileBaseline keeps the live heap, its profile and the goroutine
// stacks of the baseline, for what grew later.
func (r *soakReport) profileBaseline(srv *soakServer) {
	r.liveBefore, _ = srv.liveHeap(profilePath(r.profiles, "baseline"))
	r.heldBefore = srv.sample().HeldMiB
	r.stacksBefore, _ = srv.goroutineStacks()
}

// overall is the delivery of every good room together.
func (r *soakReport) overall() (received, expected uint64) {
	for _, k := range r.kinds {
		received, expected = received+k.received, expected+k.expected
	}
	return received, expected
}

func ratioOf(received, expected uint64) float64 {
	if expected == 0 {
		return 0
	}
	return float64(received) / float64(expected)
}

// panics is the most the server counted, from /metrics or, when it could
// not be read at the end, its log.
func (r *soakReport) panics() float64 {
	return max(r.peak.Panics, r.after.Panics, float64(r.panicLines))
}

func (r *soakReport) reportMetrics(b *testing.B) {
	rcv, exp := r.overall()
	b.ReportMetric(100*ratioOf(rcv, exp), "delivery-%")
	worst := 1.0
	for _, k := range r.kinds {
		worst = min(worst, k.delivery())
	}
	b.ReportMetric(100*worst, "worst-kind-delivery-%")
	b.ReportMetric(r.panics(), "panics")
	b.ReportMetric(r.before.RSSMiB, "rss-before-MiB")
	b.ReportMetric(r.peak.RSSMiB, "rss-peak-MiB")
	b.ReportMetric(r.after.RSSMiB, "rss-after-MiB")
	b.ReportMetric(r.before.Goroutines, "goroutines-before")
	b.ReportMetric(r.peak.Goroutines, "goroutines-peak")
	b.ReportMetric(r.after.Goroutines, "goroutines-after")
}

// secs writes a duration in whole seconds, as the report does.
func secs(d time.Duration) string { return strconv.Itoa(int(d.Seconds())) + " s" }
