package bench

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Mix
		bad  bool
	}{
		{in: "whip=1", want: Mix{KindWHIP: 1}},
		{in: "whip=2, ws=1,rtmp=1", want: Mix{KindWHIP: 2, KindWS: 1, KindRTMP: 1}},
		{in: "rtmp=3,ws=0", want: Mix{KindRTMP: 3, KindWS: 0}},
		{in: "sip=1", bad: true},
		{in: "whip", bad: true},
		{in: "whip=-1", bad: true},
		{in: "whip=0", bad: true}, // no room would have a kind
		{in: "", bad: true},
	} {
		got, err := ParseMix(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseMix(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got.String() != tc.want.String() {
			t.Errorf("ParseMix(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// Kinds interleave, so the first rooms a ramp starts already hold every
// kind in its share.
func TestMixKindsInterleaveInTheirShares(t *testing.T) {
	m := Mix{KindWHIP: 2, KindWS: 1, KindRTMP: 1}
	count := map[ClientKind]int{}
	for i := range 4 {
		count[m.KindOf(i)]++
	}
	if count[KindWHIP] != 2 || count[KindWS] != 1 || count[KindRTMP] != 1 {
		t.Fatalf("first four rooms: %v", count)
	}
	for i := range 400 {
		count[m.KindOf(i)]++
	}
	if count[KindWHIP] != 202 || count[KindWS] != 101 {
		t.Fatalf("404 rooms: %v", count)
	}
	if (Mix{}).KindOf(7) != KindWHIP {
		t.Fatal("the zero mix is not all WHIP")
	}
}

func TestReadScenarioFile(t *testing.T) {
	got, err := ReadScenarioFile(strings.NewReader(`
rooms: 50
duration: 30s
one_way: true
loss: 0.02
mix: {ws: 1, whip: 2}
target: http://127.0.0.1:8080
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"rooms": "50", "duration": "30s", "one-way": "true", "loss": "0.02",
		"mix": "whip=2,ws=1", "target": "http://127.0.0.1:8080"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, err := ReadScenarioFile(strings.NewReader("rooms: [1, 2]\n")); err == nil {
		t.Error("a list value was accepted")
	}
	if _, err := ReadScenarioFile(strings.NewReader("rooms: 5\n  bad indent: x\n")); err == nil {
		t.Error("broken YAML was accepted")
	}
	if m, err := ReadScenarioFile(strings.NewReader("")); err != nil || len(m) != 0 {
		t.Errorf("an empty file: %v %v", m, err)
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
process_resident_memory_bytes 4.194304e+07
trtcd_sfu_packets_forwarded_total 1000
trtcd_sfu_packets_dropped_total{reason="duplicate"} 3
trtcd_sfu_packets_dropped_total{reason="odd } \" label"} 4 1700000000000
trtcd_sfu_forwarding_latency_seconds_bucket{le="+Inf"} 9
`
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{metricCPUSeconds: 12.5, metricRSSBytes: 41943040, metricForwarded: 1000,
		"trtcd_sfu_packets_dropped_total": 7, "trtcd_sfu_forwarding_latency_seconds_bucket": 9} {
		if m[name] != want {
			t.Errorf("%s = %v, want %v", name, m[name], want)
		}
	}
	for _, bad := range []string{"no_value\n", `x{a="b" 1` + "\n", "x one\n"} {
		if _, err := ParseMetrics(strings.NewReader(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// A scenario file fills in what the command line leaves out; flags given
// on the command line win over the file.
func TestApplyScenarioFileLetsFlagsWin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.yaml")
	os.WriteFile(path, []byte("rooms: 50\nduration: 30s\none_way: true\nmix: {whip: 1, rtmp: 1}\n"), 0o644)
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	rooms := fs.Int("rooms", 10, "")
	duration := fs.Duration("duration", time.Second, "")
	oneWay := fs.Bool("one-way", false, "")
	mix := fs.String("mix", "whip=1", "")
	fs.String("scenario", "", "")
	if err := fs.Parse([]string{"--rooms", "3", "--scenario", path}); err != nil {
		t.Fatal(err)
	}
	if err := ApplyScenarioFile(fs, path, "scenario"); err != nil {
		t.Fatal(err)
	}
	if *rooms != 3 || *duration != 30*time.Second || !*oneWay || *mix != "rtmp=1,whip=1" {
		t.Fatalf("rooms %d duration %v one-way %v mix %q", *rooms, *duration, *oneWay, *mix)
	}
	os.WriteFile(path, []byte("roms: 5\n"), 0o644)
	if err := ApplyScenarioFile(fs, path, "scenario"); err == nil || !strings.Contains(err.Error(), "roms") {
		t.Fatalf("a misspelt option: %v", err)
	}
	os.WriteFile(path, []byte("duration: 30\n"), 0o644)
	fresh := flag.NewFlagSet("bench", flag.ContinueOnError)
	fresh.Duration("duration", time.Second, "")
	if err := ApplyScenarioFile(fresh, path, "scenario"); err == nil {
		t.Fatal("a duration without a unit was accepted")
	}
}
