package bench

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

const (
	benchApp = 1400000001
	benchKey = "b5c8a0e43f1d2c6b7a9e8d0f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
)

// buildBinary compiles a command of this module into dir.
func buildBinary(tb testing.TB, dir, pkg string) string {
	tb.Helper()
	out := filepath.Join(dir, filepath.Base(pkg))
	if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// trtcdListening is trtcd's log line with its HTTP address.
var trtcdListening = regexp.MustCompile(`msg="http listening" addr=(\S+)`)

// serveTrtcd runs `trtcd serve` on loopback with data in dataDir (HTTP,
// media and RTMP on free ports, no ICE-TCP, the bench app), plus extra flags.
func serveTrtcd(tb testing.TB, bin, dataDir string, extra ...string) (url string, pid int) {
	tb.Helper()
	return startServer(tb, trtcdListening, bin, trtcdServeArgs(dataDir, extra...)...)
}

// trtcdServeArgs are serveTrtcd's arguments to the binary.
func trtcdServeArgs(dataDir string, extra ...string) []string {
	return append([]string{"serve", "--http", "127.0.0.1:0", "--udp", "0", "--rtmp", "0", "--ice-tcp", "off",
		"--data", dataDir, "--log-level", "info", "--app", fmt.Sprintf("%d:%s", benchApp, benchKey)}, extra...)
}

// benchAuth mints userSigs for the bench app.
func benchAuth(room, user string) (string, string) {
	return tlssig.GenUserSig(benchKey, benchApp, user, time.Hour, time.Now()), ""
}

// saveProfile writes a CPU profile of a trtcd started with --debug-pprof
// to path: d long, after waiting wait. It runs beside a measurement, so a
// failure only leaves the file out.
func saveProfile(url, path string, wait, d time.Duration) {
	time.Sleep(wait)
	resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", url, int(d.Seconds())))
	if err != nil {
		return
	}
	defer resp.Body.Close()
	if f, err := os.Create(path); err == nil {
		io.Copy(f, resp.Body)
		f.Close()
	}
}

// startServer runs a server process and waits for the line that gives its
// HTTP address.
func startServer(tb testing.TB, ready *regexp.Regexp, bin string, args ...string) (url string, pid int) {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	if n := os.Getenv("BENCH_SERVER_GOMAXPROCS"); n != "" {
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+n)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); pw.Close() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := ready.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case addr := <-found:
		return "http://" + addr, cmd.Process.Pid
	case <-time.After(30 * time.Second):
		tb.Fatalf("%s did not start", bin)
	}
	return "", 0
}

// BenchmarkForwardingCPU runs the same 1v1 load through trtcd and through
// stock pion forwarding (TrackLocalStaticRTP with pion's default
// interceptors) in one run and reports each server's CPU time per packet
// delivered to a viewer. Run it with -benchtime 1x; BENCH_ROOMS and
// BENCH_SECONDS change the load (BENCH_VIEWERS > 1 measures fan-out),
// BENCH_STOCK_FIRST=1 swaps the order, BENCH_SERVER_GOMAXPROCS sets the
// servers' GOMAXPROCS, BENCH_ROUNDS (default 3) how many times both are
// measured (the figures are the round with the median ratio), after an
// 8 s warm-up (benchWarmup).
func BenchmarkForwardingCPU(b *testing.B) {
	dir := b.TempDir()
	trtcd := buildBinary(b, dir, "github.com/trtcd/trtcd/cmd/trtcd")
	stock := buildBinary(b, dir, "github.com/trtcd/trtcd/bench/stockpion")
	rooms, viewers, seconds := envInt("BENCH_ROOMS", 4), envInt("BENCH_VIEWERS", 1), envInt("BENCH_SECONDS", 10)

	trtcdURL, trtcdPID := serveTrtcd(b, trtcd, dir, "--debug-pprof")
	if path := os.Getenv("BENCH_TRTCD_PROFILE"); path != "" {
		// Profile trtcd during its measurement (it runs first, after warm-up).
		go saveProfile(trtcdURL, path, benchWarmup, 8*time.Second)
	}
	stockURL, stockPID := startServer(b, regexp.MustCompile(`listening http://(\S+)`), stock)
	targets := []Target{
		{Name: "trtcd", URL: trtcdURL, PID: trtcdPID, Auth: benchAuth, App: benchApp},
		{Name: "stock pion", URL: stockURL, PID: stockPID, App: benchApp},
	}
	all := measureRounds(b, targets, os.Getenv("BENCH_STOCK_FIRST") != "", ratio, func(t Target) (Forwarding, error) {
		return MeasureForwarding(context.Background(), t, rooms, viewers, 800, 25, benchWarmup, time.Duration(seconds)*time.Second)
	})
	median := all[len(all)/2]
	fmt.Printf("\ntrtcd/stock pion CPU per forwarded packet over %d rounds: median %.3f (min %.3f, max %.3f); the median round:\n\n",
		len(all), ratio(median), ratio(all[0]), ratio(all[len(all)-1]))
	WriteComparison(os.Stdout, median)
	fmt.Println()
	b.ReportMetric(micros(median[0].PerPacket()), "trtcd-µs/pkt")
	b.ReportMetric(micros(median[1].PerPacket()), "pion-µs/pkt")
	b.ReportMetric(ratio(median), "trtcd/pion")
}

// benchWarmup is how long the rooms run before a measurement: measured
// earlier, the first target's viewers are still catching up and the
// per-packet figure is inflated.
const benchWarmup = 8 * time.Second

// measureRounds measures every target BENCH_ROUNDS times (default 3) and
// returns the rounds (round[i] is targets[i]'s) sorted by key, so the
// median round is the middle one. Each round reverses the previous one's
// order (swapped: the first round too): whatever else the machine does
// drifts over minutes, and a ratio should not depend on who went first.
func measureRounds(b *testing.B, targets []Target, swapped bool, key func(round []Forwarding) float64,
	measure func(Target) (Forwarding, error)) [][]Forwarding {
	b.Helper()
	rounds := envInt("BENCH_ROUNDS", 3)
	var all [][]Forwarding
	for range b.N {
		for r := range rounds {
			order := slices.Clone(targets)
			if (r%2 == 1) != swapped {
				slices.Reverse(order)
			}
			round := make([]Forwarding, len(targets))
			for _, t := range order {
				f, err := measure(t)
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("round %d: %s", r+1, f)
				round[indexOf(targets, t.Name)] = f
			}
			all = append(all, round)
		}
	}
	slices.SortFunc(all, func(x, y []Forwarding) int { return cmp.Compare(key(x), key(y)) })
	return all
}

// ratio is trtcd's CPU per forwarded packet over stock pion's in a round.
func ratio(round []Forwarding) float64 {
	return float64(round[0].PerPacket()) / float64(round[1].PerPacket())
}

func indexOf(targets []Target, name string) int {
	return slices.IndexFunc(targets, func(t Target) bool { return t.Name == name })
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
