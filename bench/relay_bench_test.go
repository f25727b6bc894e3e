package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/testcluster"
	"github.com/trtcd/trtcd/internal/testredis"
)

// BenchmarkRelayCPU measures what relaying costs: the same 1v1 load once
// with publishers and viewers on node a of a two-node cluster (local
// forwarding: node a's CPU per packet delivered to a viewer) and once with
// the publishers on a and the viewers on b (every packet crosses the
// relay: a's and b's CPU per delivered packet), in one run. It reports
// both, their ratio (issue 20's goal: at most 2 at 12 rooms), the relay's
// added cost in % and the end-to-end latency of both. Run it with -benchtime 1x
// (make bench-cluster); it needs redis-server. BENCH_ROOMS (default 12),
// BENCH_VIEWERS (1), BENCH_SECONDS (10), BENCH_ROUNDS (3: the figures are
// the round with the median ratio) and BENCH_SERVER_GOMAXPROCS as for
// BenchmarkForwardingCPU; BENCH_RELAY_FIRST=1 measures cross-node first;
// BENCH_RELAY_PROFILE=DIR writes CPU profiles of both nodes during the
// first cross-node measurement to DIR/a.pprof and DIR/b.pprof.
func BenchmarkRelayCPU(b *testing.B) {
	redisURL := testredis.Start(b)
	dir := b.TempDir()
	trtcd := buildBinary(b, dir, "github.com/trtcd/trtcd/cmd/trtcd")
	rooms, viewers, seconds := envInt("BENCH_ROOMS", 12), envInt("BENCH_VIEWERS", 1), envInt("BENCH_SECONDS", 10)

	urls, pids := startNodes(b, trtcd, dir, redisURL, "a", "b")
	local := Target{Name: "local (a)", URL: urls[0], PID: pids[0], Auth: benchAuth, App: benchApp}
	relayed := local
	relayed.Name, relayed.ViewURL, relayed.ViewPID = "cross-node (a → b)", urls[1], pids[1]
	targets := []Target{local, relayed}

	var idle []float64 // node b's cores busy while the local runs leave it without media
	profile := os.Getenv("BENCH_RELAY_PROFILE")
	all := measureRounds(b, targets, os.Getenv("BENCH_RELAY_FIRST") != "", relayRatio, func(t Target) (Forwarding, error) {
		if profile != "" && t.CrossNode() {
			for i, id := range []string{"a", "b"} {
				go saveProfile(urls[i], filepath.Join(profile, id+".pprof"), benchWarmup, time.Duration(seconds)*time.Second)
			}
			profile = ""
		}
		cpu0, _ := ProcessCPU(pids[1])
		start := time.Now()
		f, err := MeasureForwarding(context.Background(), t, rooms, viewers, 800, 25, benchWarmup, time.Duration(seconds)*time.Second)
		if cpu1, _ := ProcessCPU(pids[1]); !t.CrossNode() {
			idle = append(idle, (cpu1-cpu0).Seconds()/time.Since(start).Seconds())
		}
		return f, err
	})
	median := all[len(all)/2]
	added := 100 * (relayRatio(median) - 1)
	fmt.Printf("\ncross-node/local CPU per delivered packet over %d rounds: median %.3f (min %.3f, max %.3f);\n"+
		"relaying adds %.0f %% to the per-packet cost of a local forward (issue 20: cross-node at most 2 × local at 12 rooms, two processes each receiving and sending being the floor); the median round:\n\n",
		len(all), relayRatio(median), relayRatio(all[0]), relayRatio(all[len(all)-1]), added)
	WriteComparison(os.Stdout, median)
	l, r := median[0], median[1]
	perPacket := func(cpu time.Duration) float64 { return micros(cpu / time.Duration(max(r.Packets, 1))) }
	idleCores := slices.Max(idle)
	fmt.Printf("\ncross-node CPU is both nodes': a %.2f µs, b %.2f µs per delivered packet; node b idle (during the local runs,\n"+
		"heartbeats and directory sync only) used up to %.3f cores, %.2f µs per cross-node packet's worth\n",
		perPacket(r.ServerCPU-r.ViewCPU), perPacket(r.ViewCPU), idleCores,
		perPacket(time.Duration(idleCores*float64(r.Duration))))
	fmt.Printf("added latency: p50 %+.1f ms, p99 %+.1f ms\n\n", r.Latency.P50-l.Latency.P50, r.Latency.P99-l.Latency.P99)
	b.ReportMetric(micros(l.PerPacket()), "local-µs/pkt")
	b.ReportMetric(micros(r.PerPacket()), "relayed-µs/pkt")
	b.ReportMetric(added, "added-%")
	b.ReportMetric(l.Latency.P50, "local-p50-ms")
	b.ReportMetric(r.Latency.P50, "relayed-p50-ms")
	b.ReportMetric(l.Latency.P99, "local-p99-ms")
	b.ReportMetric(r.Latency.P99, "relayed-p99-ms")
}

// relayRatio is the cross-node CPU per delivered packet over the local one
// in a round (local first).
func relayRatio(round []Forwarding) float64 {
	return float64(round[1].PerPacket()) / float64(round[0].PerPacket())
}

// startNodes runs one `trtcd serve` per node id as a cluster on redisURL,
// each with its data directory under dir (testcluster.DataDirs: one CA's
// certificates), and waits until the directory lists every node. It
// returns their URLs and pids in order.
func startNodes(b *testing.B, bin, dir, redisURL string, ids ...string) (urls []string, pids []int) {
	b.Helper()
	for i, data := range testcluster.DataDirs(b, dir, ids...) {
		url, pid := serveTrtcd(b, bin, data, append(testcluster.ServeFlags(redisURL, ids[i]), "--debug-pprof")...)
		urls, pids = append(urls, url), append(pids, pid)
	}
	waitListed(b, redisURL, ids)
	return urls, pids
}

// waitListed waits until the cluster's directory lists every node id.
func waitListed(b *testing.B, redisURL string, ids []string) {
	b.Helper()
	d, err := cluster.NewDirectory(redisURL, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		nodes, err := d.Nodes(context.Background())
		listed := 0
		for _, n := range nodes {
			if slices.Contains(ids, n.ID) {
				listed++
			}
		}
		if err == nil && listed == len(ids) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("the directory lists %d of the nodes %v after 10 s (%v)", listed, ids, err)
		}
	}
}
