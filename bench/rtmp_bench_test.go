package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// BenchmarkRTMPIngestCPU runs the same RTMP load through two trtcd
// processes in one run and reports each one's share of a core per pushed
// stream: the RTMP ingest, the AAC → Opus transcode and the forwarding to
// its viewer. The load is BENCH_ROOMS (default 10) pushers of synthetic
// H.264 at 600 kbit/s and 25 fps plus real 44.1 kHz stereo AAC (what
// ffmpeg and OBS send), each played by one WHEP viewer. Run it with
// -benchtime 1x:
//
//	go test -run '^$' -bench RTMPIngestCPU -benchtime 1x -v ./bench
//
// "defaults" is trtcd with its default settings; "baseline" is trtcd with
// BENCH_BASELINE_FLAGS (default: --opus-complexity 5, the setting before
// the defaults were measured), or the binary BENCH_BASELINE_BIN (say, built
// from an older commit) with those flags; BENCH_OTHER_FLAGS, when set, adds
// a third server, "other": trtcd with those flags. Rounds alternate the order as in
// BenchmarkForwardingCPU (BENCH_ROUNDS, default 3; BENCH_SECONDS, default
// 10, measured after an 8 s warm-up); the figures are the median round's.
func BenchmarkRTMPIngestCPU(b *testing.B) {
	dir := b.TempDir()
	trtcd := buildBinary(b, dir, "github.com/trtcd/trtcd/cmd/trtcd")
	baselineBin := trtcd
	if bin := os.Getenv("BENCH_BASELINE_BIN"); bin != "" {
		baselineBin = bin
	}
	baselineFlags := []string{"--opus-complexity", "5"}
	if v, ok := os.LookupEnv("BENCH_BASELINE_FLAGS"); ok {
		baselineFlags = strings.Fields(v)
	}
	rooms, seconds := envInt("BENCH_ROOMS", 10), envInt("BENCH_SECONDS", 10)

	start := func(name, bin string, flags ...string) Target {
		rtmp := freeTCPAddr(b)
		url, pid := serveTrtcd(b, bin, b.TempDir(), append([]string{"--rtmp", rtmp}, flags...)...)
		return Target{Name: name, URL: url, PID: pid, RTMP: "rtmp://" + rtmp, Auth: benchAuth, App: benchApp}
	}
	targets := []Target{start("defaults", trtcd), start("baseline", baselineBin, baselineFlags...)}
	if v, ok := os.LookupEnv("BENCH_OTHER_FLAGS"); ok {
		targets = append(targets, start("other", trtcd, strings.Fields(v)...))
	}
	perStream := func(round []Forwarding) float64 {
		return round[0].CorePercentPerRoom() / round[1].CorePercentPerRoom()
	}
	all := measureRounds(b, targets, false, perStream, func(t Target) (Forwarding, error) {
		return MeasureIngest(context.Background(), t, rooms, 1, 600, 25, benchWarmup, time.Duration(seconds)*time.Second)
	})
	median := all[len(all)/2]
	fmt.Printf("\n%d RTMP pushers (600 kbit/s H.264, 44.1 kHz stereo AAC), one WHEP viewer each; baseline: %s %s\n",
		rooms, baselineBin, strings.Join(baselineFlags, " "))
	fmt.Printf("defaults/baseline CPU per stream over %d rounds: median %.3f (min %.3f, max %.3f); the median round:\n\n",
		len(all), perStream(median), perStream(all[0]), perStream(all[len(all)-1]))
	WriteComparison(os.Stdout, median)
	fmt.Println()
	b.ReportMetric(median[0].CorePercentPerRoom(), "defaults-%core/stream")
	b.ReportMetric(median[1].CorePercentPerRoom(), "baseline-%core/stream")
	b.ReportMetric(perStream(median), "defaults/baseline")
}

// freeTCPAddr is a loopback address with a port free right now.
func freeTCPAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
