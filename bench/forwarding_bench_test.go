package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/trtcd/trtcd/signaling/tlssig"
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
// servers' GOMAXPROCS. The
// 8 s warm-up matters: measured earlier, the first server's viewers are
// still catching up and the per-packet figure is inflated.
func BenchmarkForwardingCPU(b *testing.B) {
	dir := b.TempDir()
	trtcd := buildBinary(b, dir, "github.com/trtcd/trtcd/cmd/trtcd")
	stock := buildBinary(b, dir, "github.com/trtcd/trtcd/bench/stockpion")
	rooms, viewers, seconds := envInt("BENCH_ROOMS", 4), envInt("BENCH_VIEWERS", 1), envInt("BENCH_SECONDS", 10)

	trtcdURL, trtcdPID := startServer(b, regexp.MustCompile(`msg="http listening" addr=(\S+)`), trtcd,
		"serve", "--http", "127.0.0.1:0", "--udp", "0", "--rtmp", "0", "--ice-tcp", "off", "--data", dir, "--log-level", "info",
		"--app", "1400000001:"+benchKey, "--debug-pprof")
	if path := os.Getenv("BENCH_TRTCD_PROFILE"); path != "" {
		// Profile trtcd during its measurement (it runs first, after warm-up).
		go func() {
			time.Sleep(8 * time.Second)
			resp, err := http.Get(trtcdURL + "/debug/pprof/profile?seconds=8")
			if err != nil {
				return
			}
			defer resp.Body.Close()
			f, _ := os.Create(path)
			io.Copy(f, resp.Body)
			f.Close()
		}()
	}
	stockURL, stockPID := startServer(b, regexp.MustCompile(`listening http://(\S+)`), stock)
	auth := func(room, user string) (string, string) {
		return tlssig.GenUserSig(benchKey, benchApp, user, time.Hour, time.Now()), ""
	}
	targets := []Target{
		{Name: "trtcd", URL: trtcdURL, PID: trtcdPID, Auth: auth, App: benchApp},
		{Name: "stock pion", URL: stockURL, PID: stockPID, App: benchApp},
	}
	var results []Forwarding
	if os.Getenv("BENCH_STOCK_FIRST") != "" {
		targets[0], targets[1] = targets[1], targets[0]
	}
	for range b.N {
		results = results[:0]
		for _, t := range targets {
			f, err := MeasureForwarding(context.Background(), t, rooms, viewers, 800, 25, 8*time.Second, time.Duration(seconds)*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			b.Log(f)
			results = append(results, f)
		}
	}
	if os.Getenv("BENCH_STOCK_FIRST") != "" {
		results[0], results[1] = results[1], results[0] // the table reads trtcd first either way
	}
	fmt.Println()
	WriteComparison(os.Stdout, results)
	fmt.Println()
	ours, theirs := results[0].PerPacket(), results[1].PerPacket()
	b.ReportMetric(float64(ours.Nanoseconds())/1e3, "trtcd-µs/pkt")
	b.ReportMetric(float64(theirs.Nanoseconds())/1e3, "pion-µs/pkt")
	b.ReportMetric(float64(ours)/float64(theirs), "trtcd/pion")
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
