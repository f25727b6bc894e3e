package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/trtcd/trtcd/bench"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// benchCmd runs `trtcd bench`: real clients publishing and playing through
// a server (WHIP/WHEP, the /ws signalling, RTMP pushers), measured.
func benchCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("trtcd bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "http://127.0.0.1:8080", "the server's HTTP base URL (WHIP/WHEP)")
	app := fs.Uint("sdkappid", 0, "sdkAppId (required for trtcd)")
	key := fs.String("key", "", "the app's secret key, to mint userSigs (empty: no Authorization header)")
	rooms := fs.Int("rooms", 10, "1v1 rooms")
	viewers := fs.Int("viewers", 1, "viewers per publisher")
	oneWay := fs.Bool("one-way", false, "one participant per room publishes (default: both publish and play each other)")
	ramp := fs.Float64("ramp", 5, "rooms started per second")
	duration := fs.Duration("duration", 30*time.Second, "how long to measure once every room is up")
	bitrate := fs.Int("bitrate", 600, "video kbps per publisher")
	fps := fs.Int("fps", 25, "video frames per second")
	whipURL := fs.String("whip-url", "", "WHIP URL template for another server ({app} {room} {user} {publisher} are filled in): SRS 'http://HOST:1985/rtc/v1/whip/?app=live&stream={room}_{user}', mediamtx 'http://HOST:8889/{room}_{user}/whip'")
	whepURL := fs.String("whep-url", "", "WHEP URL template for another server: SRS 'http://HOST:1985/rtc/v1/whep/?app=live&stream={room}_{publisher}', mediamtx 'http://HOST:8889/{room}_{publisher}/whep'")
	engine := fs.String("engine", bench.EnginePion, "load generator for WebRTC rooms: pion (a full pion client per publisher and viewer) or raw (pion connects each session, then the generator sends pre-built SRTP with sendmmsg and reads every session with recvmmsg from one goroutine: about a quarter of pion's CPU per packet, to find a server's limit; no --loss; RTMP rooms' viewers stay pion)")
	bearer := fs.String("bearer", "", "a fixed bearer token for every request (instead of userSigs minted with --key)")
	pid := fs.Int("server-pid", 0, "the server's process id on this machine, to read its CPU and memory from /proc")
	viewTarget := fs.String("view-target", "", "cross-node: viewers play from this server, another node of the target's cluster (WHEP for the publisher's room and user; whip and rtmp rooms); the server figures are both nodes'")
	viewPID := fs.Int("view-server-pid", 0, "with --view-target: that server's process id on this machine (default: its /metrics)")
	jsonPath := fs.String("json", "", "also write the report as JSON to this file")
	htmlPath := fs.String("html", "", "also write an HTML report with charts to this file")
	findCapacity := fs.Bool("find-capacity", false, "add --step rooms at a time (up to --rooms) until a level breaks --max-loss or --max-p99; report the most rooms that held and, at each level and that knee, the server's cores and forwarded packets/s (trtcd's /metrics, else what the viewers received) and their ratio (with --html: CPU, p99 and loss against forwarded packets/s, the knee marked)")
	step := fs.Int("step", 5, "rooms added per level with --find-capacity")
	hold := fs.Duration("hold", 10*time.Second, "how long each level is measured with --find-capacity")
	maxLoss := fs.Float64("max-loss", 0.01, "loss ratio a level may not exceed with --find-capacity")
	retries := fs.Int("retries", 0, "with --find-capacity, measure a level that broke the limits this many more times before stopping there (for a shared machine, where one stall of other work can break a level)")
	maxP99 := fs.Duration("max-p99", 100*time.Millisecond, "p99 end-to-end latency a level may not exceed with --find-capacity (default with --engine raw: 50ms)")
	loss := fs.Float64("loss", 0, "fraction (0..1) of RTP packets dropped on every WebRTC publisher's uplink (RTMP pushers use TCP: none)")
	mixText := fs.String("mix", "whip=1", "share of rooms per client kind: whip (WHIP/WHEP), ws (/ws signalling), rtmp (RTMP pusher → WHEP viewer, always one-way), e.g. whip=2,ws=1,rtmp=1")
	rtmpURL := fs.String("rtmp-url", "", "where RTMP pushers publish, rtmp://HOST:PORT (default: the target's host, port 1935)")
	fs.String("scenario", "", "a YAML file of these flags' values (rooms: 50, one_way: true, mix: {whip: 1, rtmp: 1}, …); flags given on the command line win")
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if err := applyScenarioFile(fs); err != nil {
		return err
	}
	if *app == 0 || *app > math.MaxUint32 || *rooms <= 0 || *bitrate <= 0 || *fps <= 0 {
		return usageErrorf("--sdkappid, --rooms, --bitrate and --fps must be positive")
	}
	if *loss < 0 || *loss >= 1 {
		return usageErrorf("--loss %v: want a fraction from 0 to below 1", *loss)
	}
	if *engine != bench.EnginePion && *engine != bench.EngineRaw {
		return usageErrorf("--engine %q: want %s or %s", *engine, bench.EnginePion, bench.EngineRaw)
	}
	if *engine == bench.EngineRaw && *loss > 0 {
		return usageErrorf("--loss: the raw engine sends every packet; use --engine pion")
	}
	mix, err := bench.ParseMix(*mixText)
	if err != nil {
		return usageErrorf("--mix: %v", err)
	}
	if *viewTarget != "" && (mix[bench.KindWS] > 0 || *whepURL != "") {
		return usageErrorf("--view-target: /ws rooms keep each member on one node, and a --whep-url template names its own server; use whip or rtmp rooms with trtcd's paths")
	}
	t := bench.Target{Name: "target", URL: strings.TrimSuffix(*target, "/"), App: uint32(*app), PID: *pid,
		WHIP: *whipURL, WHEP: *whepURL, RTMP: strings.TrimSuffix(*rtmpURL, "/"),
		ViewURL: strings.TrimSuffix(*viewTarget, "/"), ViewPID: *viewPID}
	if *bearer != "" {
		b := *bearer
		t.Auth = func(string, string) (string, string) { return b, "" }
	} else if *key != "" {
		k, id := *key, uint32(*app)
		t.Auth = func(room, user string) (string, string) {
			return tlssig.GenUserSig(k, id, user, time.Hour, time.Now()), ""
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	sc := bench.Scenario{Target: t, Rooms: *rooms, OneWay: *oneWay, Viewers: *viewers, Ramp: *ramp,
		Duration: *duration, BitrateKbps: *bitrate, FPS: *fps, ServerPID: *pid, UplinkLoss: *loss, Mix: mix, Engine: *engine}
	if *findCapacity {
		if *step <= 0 || *hold <= 0 || *retries < 0 {
			return usageErrorf("--step and --hold must be positive, --retries not negative")
		}
		lim := bench.Limits{MaxLoss: *maxLoss, MaxLatency: capacityMaxP99(fs, *engine, *maxP99), Step: *step, Hold: *hold, Retries: *retries}
		return findCapacityCmd(ctx, sc, lim, *jsonPath, *htmlPath, stdout, stderr)
	}
	report, err := bench.Run(ctx, sc,
		func(p bench.Progress) {
			cpu := "n/a"
			if p.ServerCPU >= 0 {
				cpu = fmt.Sprintf("%.2f cores", p.ServerCPU)
			}
			fmt.Fprintf(stderr, "\r%5.0fs  rooms up %d/%d  packets %d  loss %.2f%%  server CPU %s   ",
				p.Elapsed.Seconds(), p.RoomsUp, *rooms, p.Received, 100*p.LossRatio, cpu)
		})
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	report.WriteTable(stdout)
	if err := writeFile(*jsonPath, report.WriteJSON); err != nil {
		return err
	}
	return writeFile(*htmlPath, report.WriteHTML)
}

// rawEngineMaxP99 is --max-p99's default with --engine raw: the raw engine
// adds almost no latency of its own, so a level counts as held only while
// the server keeps p99 within 50 ms, the saturation limit of issue 20.
const rawEngineMaxP99 = 50 * time.Millisecond

// capacityMaxP99 is the p99 limit of a capacity search: --max-p99 when it
// was given, else its default for the engine.
func capacityMaxP99(fs *flag.FlagSet, engine string, maxP99 time.Duration) time.Duration {
	if engine == bench.EngineRaw && !flagGiven(fs, "max-p99") {
		return rawEngineMaxP99
	}
	return maxP99
}

// findCapacityCmd runs `trtcd bench --find-capacity` and writes its table,
// JSON and HTML.
func findCapacityCmd(ctx context.Context, sc bench.Scenario, lim bench.Limits, jsonPath, htmlPath string, stdout, stderr io.Writer) error {
	c, err := bench.FindCapacity(ctx, sc, lim, func(s bench.Step) {
		fmt.Fprintf(stderr, "%d rooms: loss %.3f %%, p99 %.1f ms, %.0f forwarded packets/s, server CPU %.2f cores, held %v (try %d)\n",
			s.Rooms, 100*s.LossRatio, s.LatencyP99Ms, s.ForwardedPerSecond, s.ServerCores, s.Held, s.Tries)
	})
	if err != nil {
		return err
	}
	c.WriteTable(stdout)
	err = writeFile(jsonPath, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(c)
	})
	if err != nil {
		return err
	}
	return writeFile(htmlPath, c.WriteHTML)
}

// flagGiven says whether the command line or the scenario file set name.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// applyScenarioFile sets every flag the --scenario file names and the
// command line did not.
func applyScenarioFile(fs *flag.FlagSet) error {
	path := fs.Lookup("scenario").Value.String()
	if path == "" {
		return nil
	}
	if err := bench.ApplyScenarioFile(fs, path, "scenario"); err != nil {
		return usageError(err)
	}
	return nil
}

// writeFile writes a report to path with write, when a path is given.
func writeFile(path string, write func(io.Writer) error) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
