package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// What the soak keeps of the server's profiles (it runs with
// --debug-pprof): heap profiles at the baseline, near the attack's peak
// and after the recovery, so that what grew can be shown by call site, and
// goroutine stacks at the baseline and after, so that what stayed can be.

// saveHeapProfile writes the server's heap profile to path: as of its
// last GC, or after one it runs now when gc is set.
func (s *soakServer) saveHeapProfile(path string, gc bool) error {
	u := s.url + "/debug/pprof/heap"
	if gc {
		u += "?gc=1"
	}
	resp, err := soakMetricsClient.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET /debug/pprof/heap: HTTP %d", resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, io.LimitReader(resp.Body, 64<<20)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// liveHeap makes the server collect its garbage, keeps the heap profile
// that follows to path, and returns what the heap then holds
// (go_memstats_heap_alloc_bytes): its live memory, whatever the GC's
// timing. RSS lags it: the runtime hands freed memory back to the system
// over minutes.
func (s *soakServer) liveHeap(path string) (float64, error) {
	// Two collections: what sync.Pools hold (net/http's bufio readers and
	// writers, gzip writers) survives the first in their victim caches.
	if err := s.saveHeapProfile(path, true); err != nil {
		return 0, err
	}
	if err := s.saveHeapProfile(path, true); err != nil {
		return 0, err
	}
	text, err := s.metricsText()
	if err != nil {
		return 0, err
	}
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		return 0, err
	}
	return m["go_memstats_heap_alloc_bytes"] / (1 << 20), nil
}

// heapGrowth is `go tool pprof -top` of the in-use heap of cur over base:
// the call sites that hold more memory than at the baseline, cut to n
// lines.
func heapGrowth(base, cur string, n int) string {
	if _, err := os.Stat(base); err != nil {
		return "no baseline heap profile"
	}
	if _, err := os.Stat(cur); err != nil {
		return "no heap profile"
	}
	out, err := exec.Command("go", "tool", "pprof", "-top", "-inuse_space", "-nodecount", strconv.Itoa(n),
		"-diff_base", base, cur).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("go tool pprof: %v: %s", err, out)
	}
	var keep []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") || strings.HasPrefix(line, "Type:") ||
			strings.HasPrefix(line, "Time:") || strings.TrimSpace(line) == "" {
			continue
		}
		keep = append(keep, "  "+line)
	}
	return strings.Join(keep, "\n")
}

// goroutineStacks are the server's goroutines grouped by stack (pprof's
// debug=1 form): how many share each stack, and the stack as function
// names and lines.
func (s *soakServer) goroutineStacks() (map[string]int, error) {
	resp, err := soakMetricsClient.Get(s.url + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return parseGoroutineStacks(resp.Body)
}

// soakStackHead is a group's first line: "N @ 0x... 0x...".
var soakStackHead = regexp.MustCompile(`^(\d+) @`)

// soakFrame is one frame line: "#	0xADDR	function+0xOFF	/path/file.go:LINE".
var soakFrame = regexp.MustCompile(`^#\s+0x[0-9a-f]+\s+(\S+?)(?:\+0x[0-9a-f]+)?\s+\S*/([^/\s]+:\d+)$`)

func parseGoroutineStacks(r io.Reader) (map[string]int, error) {
	out := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n, frames := 0, []string(nil)
	flush := func() {
		if n > 0 && len(frames) > 0 {
			out[strings.Join(frames, "\n")] += n
		}
		n, frames = 0, nil
	}
	for sc.Scan() {
		line := sc.Text()
		if m := soakStackHead.FindStringSubmatch(line); m != nil {
			flush()
			n, _ = strconv.Atoi(m[1])
			continue
		}
		if m := soakFrame.FindStringSubmatch(line); m != nil && n > 0 {
			frames = append(frames, "    "+m[1]+" ("+m[2]+")")
		}
	}
	flush()
	return out, sc.Err()
}

// goroutineGrowth lists the stacks with more goroutines in after than in
// before, the largest growth first, cut to n stacks.
func goroutineGrowth(before, after map[string]int, n int) string {
	type grew struct {
		stack string
		by    int
	}
	var all []grew
	for stack, c := range after {
		if d := c - before[stack]; d > 0 {
			all = append(all, grew{stack, d})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		return all[i].by > all[j].by || all[i].by == all[j].by && all[i].stack < all[j].stack
	})
	var b strings.Builder
	for i, g := range all {
		if i == n {
			fmt.Fprintf(&b, "  ... and %d more stacks\n", len(all)-n)
			break
		}
		fmt.Fprintf(&b, "  +%d\n%s\n", g.by, g.stack)
	}
	if len(all) == 0 {
		return "  (no stack has more goroutines than at the baseline)\n"
	}
	return b.String()
}

// profilePath is where a heap profile of the run goes.
func profilePath(dir, name string) string { return filepath.Join(dir, name+".heap.pb.gz") }
