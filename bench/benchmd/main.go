// Command benchmd writes BENCHMARKS.md from the results `make bench`
// leaves in a folder (bench/run-benchmarks.sh): run.json and
// capacity.json from `trtcd bench`; fanout.txt, compare.txt, opus.txt,
// rtmp.txt, cluster.txt and cluster-large.txt from the Go benchmarks; commands.txt with what was run. It
// describes the machine too, since every figure depends on it and the
// load generator shares it.
//
//	go run ./bench/benchmd -dir RESULTS > BENCHMARKS.md
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/trtcd/trtcd/bench"
)

func main() {
	dir := flag.String("dir", ".", "the folder of results")
	flag.Parse()
	var run bench.Report
	var capacity bench.Capacity
	if err := readJSON(filepath.Join(*dir, "run.json"), &run); err != nil {
		log.Fatal(err)
	}
	if err := readJSON(filepath.Join(*dir, "capacity.json"), &capacity); err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	write(w, *dir, &run, &capacity)
}

// rawResults are the raw engine's run and saturation search, when make
// bench ran them (nil otherwise).
type rawResults struct {
	run        *bench.Report
	saturation *bench.Capacity
}

func readRaw(dir string) rawResults {
	var r rawResults
	var run bench.Report
	if readJSON(filepath.Join(dir, "raw.json"), &run) == nil {
		r.run = &run
	}
	var sat bench.Capacity
	if readJSON(filepath.Join(dir, "saturation.json"), &sat) == nil {
		r.saturation = &sat
	}
	return r
}

// summaryRows are the raw engine's lines of the summary.
func (r rawResults) summaryRows(p func(string, ...any)) {
	if c := r.saturation; c != nil && c.Knee != nil {
		k := c.Knee
		p("| saturation: one-way rooms the raw engine's search held (≤ %.0f %% loss, p99 ≤ %.0f ms) | %d rooms: %.0f forwarded packets/s on %.2f server cores, **%.0f packets/s per core** |",
			100*c.MaxLossRatio, c.MaxLatencyP99Ms, c.Rooms, k.ForwardedPerSecond, k.ServerCores, k.ForwardedPerCore)
	}
	if run := r.run; run != nil && run.Server != nil && run.Generator.MicrosPerPacket > 0 {
		p("| raw engine, %d rooms: server CPU per forwarded packet; the generator's per packet sent or received | %.1f µs; %.1f µs (%.2f of the server's) |",
			run.RoomsUp, run.Server.MicrosPerPacket, run.Generator.MicrosPerPacket, run.Generator.MicrosPerPacket/run.Server.MicrosPerPacket)
	}
}

// section is the raw engine's part of the file.
func (r rawResults) section(p func(string, ...any), dir string) {
	p("## Saturation, with the raw-media engine")
	p("")
	p("`--engine raw` lets pion do each session's signalling, ICE and DTLS, then sends pre-built SRTP with `sendmmsg` and")
	p("reads every session with `recvmmsg` from one goroutine, so the generator costs less per packet than the server and")
	p("the search finds the server's limit rather than the generator's. On loopback the sender also pays the kernel's")
	p("delivery into the receiving socket, so the generator cannot get much below about half the server's cost here.")
	p("The search adds one-way rooms until p99 50 ms or 1 %% loss breaks (each broken level is measured once more);")
	p("`bin/bench-saturation.html` plots server CPU, p99 and loss against forwarded packets/s and marks the knee. `make bench-scaling` runs the same")
	p("search with trtcd pinned to one core and then two (`taskset`).")
	p("")
	codeBlock(p, dir, "raw.txt")
	p("")
	codeBlock(p, dir, "saturation.txt")
	p("")
}

// goBenchRows are the summary's lines from the Go benchmarks' metrics,
// each left out when its benchmark did not run.
func goBenchRows(p func(string, ...any), dir string) {
	if t, ok := metric(dir, "compare.txt", "trtcd-µs/pkt"); ok {
		if pion, ok := metric(dir, "compare.txt", "pion-µs/pkt"); ok {
			p("| trtcd against stock pion forwarding, 12 rooms (median round) | %.1f against %.1f µs per forwarded packet (%.2f) |", t, pion, t/pion)
		}
	}
	if d, ok := metric(dir, "rtmp.txt", "defaults-%core/stream"); ok {
		if base, ok := metric(dir, "rtmp.txt", "baseline-%core/stream"); ok {
			p("| RTMP, 10 pushers: %% of a core per pushed stream (ingest, AAC → Opus, one WHEP viewer) | %.2f %% (Opus complexity 5: %.2f %%) |", d, base)
		}
	}
	var relay []string
	for _, r := range []struct{ file, rooms string }{{"cluster.txt", "12"}, {"cluster-large.txt", "50"}} {
		local, ok1 := metric(dir, r.file, "local-µs/pkt")
		relayed, ok2 := metric(dir, r.file, "relayed-µs/pkt")
		if ok1 && ok2 {
			relay = append(relay, fmt.Sprintf("%s rooms: %.2f (%.1f against %.1f µs)", r.rooms, relayed/local, relayed, local))
		}
	}
	if len(relay) > 0 {
		p("| relay: cross-node against local CPU per delivered packet (median round) | %s |", strings.Join(relay, "; "))
	}
}

// metric is the value a Go benchmark in dir/name reported with unit (the
// number before it on the Benchmark… result line).
func metric(dir, name, unit string) (float64, bool) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		for i := 1; i < len(f); i++ {
			if f[i] == unit {
				v, err := strconv.ParseFloat(f[i-1], 64)
				return v, err == nil
			}
		}
	}
	return 0, false
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// codeBlock prints the output saved in dir/name as a fenced block.
func codeBlock(p func(string, ...any), dir, name string) {
	p("```")
	p("%s", text(dir, name))
	p("```")
}

func text(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "(not run: " + err.Error() + ")"
	}
	return strings.TrimSpace(string(b))
}

func write(w io.Writer, dir string, run *bench.Report, c *bench.Capacity) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	raw := readRaw(dir)
	p("# trtcd benchmarks")
	p("")
	p("Generated by `make bench` on %s. Every figure below comes from one machine on which the load generator", time.Now().UTC().Format("2006-01-02"))
	p("(real pion WebRTC clients, RTMP pushers) and the server run side by side over loopback, so the server gets only")
	p("what the generator leaves; on separate machines the server would hold more. The machine's load average when the")
	p("run ended was %s (other work shares it too). Rerun `make bench` to refresh this file.", loadAverage())
	p("")
	p("## Machine")
	p("")
	p("| | |")
	p("|---|---|")
	p("| CPU | %s |", cpuModel())
	p("| cores (`nproc`) | %d |", runtime.NumCPU())
	p("| memory | %s |", memTotal())
	p("| Go | %s |", runtime.Version())
	p("")
	p("## Summary")
	p("")
	p("| figure | value |")
	p("|---|---|")
	p("%s", capacityRow(c))
	raw.summaryRows(p)
	if s := run.Server; s != nil {
		p("| server CPU per forwarded packet, pion engine, two-way rooms (%d rooms) | %.1f µs (%.2f cores busy, %.0f MiB resident) |", run.RoomsUp, s.MicrosPerPacket, s.CPUCores, s.RSSMiB)
	}
	p("| end-to-end latency (%d rooms) | p50 %.1f ms, p99 %.1f ms, max %.1f ms |", run.RoomsUp, run.LatencyMs.P50, run.LatencyMs.P99, run.LatencyMs.Max)
	p("| delivery (%d rooms) | %.2f %% (%d datagrams dropped by the kernel for full UDP receive buffers in the window) |",
		run.RoomsUp, 100*run.DeliveryRatio, run.UDPBufferDrops)
	p("| load generator's own CPU | %.2f cores during the %d-room run, %.2f during the capacity search |", run.Generator.CPUCores, run.RoomsUp, c.GeneratorCores)
	goBenchRows(p, dir)
	p("")
	p("## Commands")
	p("")
	codeBlock(p, dir, "commands.txt")
	p("")
	p("## %d rooms, both participants publishing and playing", run.Rooms)
	p("")
	codeBlock(p, dir, "run.txt")
	p("")
	p("## Capacity search")
	p("")
	codeBlock(p, dir, "capacity.txt")
	p("")
	raw.section(p, dir)
	p("## Fan-out microbenchmark (forwarding path, one packet to N subscribers)")
	p("")
	codeBlock(p, dir, "fanout.txt")
	p("")
	p("## Other loads")
	p("")
	p("`trtcd bench` takes its options from flags or a YAML file of the same names (`--scenario FILE`; flags win):")
	p("")
	p("```yaml")
	p("rooms: 40")
	p("duration: 60s")
	p("loss: 0.02            # dropped on every WebRTC publisher's uplink; NACKs should recover it")
	p("mix: {whip: 2, ws: 1, rtmp: 1}   # WHIP/WHEP, /ws signalling, RTMP pushers")
	p("```")
	p("")
	p("RTMP rooms are one-way (the pusher → a WHEP viewer): a pusher has no way to play its partner. Their latency is")
	p("measured on video only, because the send time stamped in the media does not survive the AAC → Opus transcode;")
	p("`--loss` does not touch them (RTMP runs over TCP). Without `--server-pid`, the server's CPU, memory and")
	p("forwarded packets come from trtcd's `/metrics`.")
	p("")
	p("## trtcd against stock pion forwarding (`make bench-compare`)")
	p("")
	p("Packets are counted at the viewers; over loopback nothing is lost, so that is what each server forwarded.")
	p("")
	codeBlock(p, dir, "compare.txt")
	p("")
	writeRTMP(p, dir)
	p("## Relaying between two nodes (`make bench-cluster`)")
	p("")
	p("One run, two measurements of the same 1v1 load on a two-node cluster (Redis and two `trtcd serve` processes on")
	p("this machine): publishers and viewers on node a (local forwarding; node a's CPU), then publishers on a and viewers")
	p("on b, so every packet crosses the QUIC relay (both nodes' CPU, idle work such as heartbeats included). Packets are")
	p("counted at the viewers. Issue 20's goal: cross-node CPU per delivered packet at most 2 × a local forward at 12 rooms,")
	p("and less at 50 rooms, where more packets share each wake-up and each datagram between the nodes.")
	p("")
	p("```")
	p("BENCH_ROOMS=12 go test -run '^$' -bench RelayCPU -benchtime 1x -v ./bench   # make bench-cluster; needs redis-server")
	p("```")
	p("")
	codeBlock(p, dir, "cluster.txt")
	p("")
	p("The same at 50 rooms (`BENCH_ROOMS=50`):")
	p("")
	codeBlock(p, dir, "cluster-large.txt")
	p("")
	p("How relayed media travels (docs/cluster.md): sealed with AES-GCM keys exported from the nodes' TLS session, beside")
	p("QUIC on the relay socket. On the publisher's node one writer per peer packs the waiting packets of every track into")
	p("datagrams; on the viewer's node the socket's reader opens them and forwards their packets with no hand-off. Every")
	p("packet still wakes both processes at this load, and on loopback the sender's `sendto` also pays the receiving")
	p("side's delivery, so two processes that each receive and send are the floor: about 2 × a local forward.")
	p("")
	writeSoak(p, dir)
}

// writeRTMP: what an RTMP pusher costs, and the Opus settings behind it.
func writeRTMP(p func(string, ...any), dir string) {
	p("## RTMP ingest: CPU per pushed stream, and the Opus settings")
	p("")
	p("An RTMP pusher's AAC is decoded, resampled to 48 kHz when it is not already, and encoded to Opus for WebRTC")
	p("viewers. First every encoder setting against the quality it gives (codec's `BenchmarkAACToOpusOptions`: the")
	p("transcoder's own CPU, median of interleaved rounds; a 1 kHz tone's SINAD, higher is better; the log-spectral")
	p("distance of a music-like and a speech-like signal to the source, lower is better). The defaults")
	p("(`rtmp_audio` in the configuration) are chosen from it. Then the whole server's share of a core per pushed stream")
	p("(ingest, transcode, one WHEP viewer), trtcd's defaults against a baseline (complexity 5), in one run.")
	p("")
	codeBlock(p, dir, "opus.txt")
	p("")
	codeBlock(p, dir, "rtmp.txt")
	p("")
}

// soakIntro says what the chaos soak does and what it must show.
const soakIntro = `20 good rooms from 127.0.0.1 (10 WHIP/WHEP, 6 /ws, 4 ffmpeg RTMP pushes each played by 2 HTTP-FLV readers) run
while hostile clients hit every listener for 120 s from 127.0.0.2–9: garbage, slowloris, connection and request
floods, frame floods, sockets that never log in, handshakes cut off, WebRTC sessions abandoned before or during
ICE/DTLS, authenticated pushers of mutated FLV and RTP (recorded, and played over HTTP-FLV and WHEP), and garbage
UDP. Targets: every kind of room at least 99 % delivered, no room silent over 3 s, no panic, goroutines within +25
and RSS within +20 % of the baseline 10 s after the attack. Go returns freed memory to the system over minutes, so
the RSS target is on the RSS the process still holds, read right after a forced GC at the baseline and 10 s after:
/proc's RSS less the heap the runtime has freed but not yet returned (heap_idle − heap_released). Raw RSS is shown
beside it.`

func writeSoak(p func(string, ...any), dir string) {
	p("## Chaos soak (issue 16)")
	p("")
	p("%s", soakIntro)
	p("")
	p("```")
	p("make soak   # go test -run '^$' -bench '^BenchmarkSoak$' -benchtime 1x -timeout 20m ./bench")
	p("```")
	p("")
	codeBlock(p, dir, "soak.txt")
}

// capacityRow is the summary's capacity line: the knee's rooms and, where
// measured, its server cores and forwarded packets/s per core.
func capacityRow(c *bench.Capacity) string {
	limits := fmt.Sprintf("≤ %.0f %% loss and p99 ≤ %.0f ms", 100*c.MaxLossRatio, c.MaxLatencyP99Ms)
	if c.MaxLatencyP99Ms == 0 { // a capacity.json from before the limits were recorded
		limits = "≤ 1 % loss and p99 ≤ 100 ms"
	}
	held, heldCores := capacityLevel(c)
	if held == 0 || heldCores <= 0 {
		return fmt.Sprintf("| capacity, 1v1 rooms at %s | %d rooms on this machine |", limits, c.Rooms)
	}
	perCore := ""
	if k := c.Knee; k != nil && k.ForwardedPerCore > 0 {
		perCore = fmt.Sprintf(", %.0f forwarded packets/s, %.0f per core", k.ForwardedPerSecond, k.ForwardedPerCore)
	}
	return fmt.Sprintf("| capacity, 1v1 rooms at %s | %d rooms on this machine; %.0f rooms per core of server CPU (%.2f cores busy at %d rooms%s) |",
		limits, held, float64(held)/heldCores, heldCores, held, perCore)
}

// capacityLevel is the highest level that held and the server's cores
// busy there.
func capacityLevel(c *bench.Capacity) (rooms int, cores float64) {
	for _, s := range c.Steps {
		if s.Held && s.Rooms >= rooms {
			rooms, cores = s.Rooms, s.ServerCores
		}
	}
	return rooms, cores
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(rest), "%f", &kb)
			return fmt.Sprintf("%.1f GiB", kb/(1<<20))
		}
	}
	return "unknown"
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}
