package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSummaryRowsComeFromTheGoBenchmarksMetrics(t *testing.T) {
	dir := t.TempDir()
	write := func(name, line string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("some output\n"+line+"\nPASS\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("compare.txt", "BenchmarkForwardingCPU-2   \t       1\t121220686546 ns/op\t       116.1 pion-µs/pkt\t        46.86 trtcd-µs/pkt\t         0.4037 trtcd/pion")
	write("rtmp.txt", "BenchmarkRTMPIngestCPU-2   \t       1\t117198074517 ns/op\t         2.400 baseline-%core/stream\t         1.970 defaults-%core/stream")
	write("cluster.txt", "BenchmarkRelayCPU-2   \t       1\t121006156474 ns/op\t        49.52 local-µs/pkt\t        97.98 relayed-µs/pkt")
	// no cluster-large.txt: that run is left out of the row, not printed as 0

	var rows strings.Builder
	goBenchRows(func(format string, args ...any) { fmt.Fprintf(&rows, format+"\n", args...) }, dir)
	for _, want := range []string{
		"| 46.9 against 116.1 µs per forwarded packet (0.40) |",
		"| 1.97 % (Opus complexity 5: 2.40 %) |",
		"| 12 rooms: 1.98 (98.0 against 49.5 µs) |",
	} {
		if !strings.Contains(rows.String(), want) {
			t.Errorf("summary rows lack %q:\n%s", want, rows.String())
		}
	}
	if strings.Contains(rows.String(), "50 rooms") {
		t.Errorf("a relay run that did not happen is in the summary:\n%s", rows.String())
	}
}
