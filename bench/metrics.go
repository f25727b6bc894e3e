package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The /metrics series the bench reads from trtcd: the process collector's
// CPU and memory, and the SFU's count of packets written to subscribers.
const (
	metricCPUSeconds = "process_cpu_seconds_total"
	metricRSSBytes   = "process_resident_memory_bytes"
	metricForwarded  = "trtcd_sfu_packets_forwarded_total"
)

// ParseMetrics reads the Prometheus text exposition format and returns
// each metric's value, summed over its label sets (so a counter split by
// reason reads as its total). Comments, histograms' _bucket series and
// timestamps are tolerated; a line that is not a sample is an error.
func ParseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ \t"); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if strings.HasPrefix(rest, "{") {
			end := labelsEnd(rest)
			if end < 0 {
				return nil, fmt.Errorf("metrics line %d: unterminated labels", n)
			}
			rest = rest[end+1:]
		}
		fields := strings.Fields(rest)
		if name == "" || len(fields) == 0 {
			return nil, fmt.Errorf("metrics line %d: no value: %q", n, line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: value %q: %w", n, fields[0], err)
		}
		out[name] += v
	}
	return out, sc.Err()
}

// labelsEnd finds the '}' closing a label set, skipping quoted values
// (which may hold braces and escaped quotes).
func labelsEnd(s string) int {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '}':
			return i
		}
	}
	return -1
}

// scrapeMetrics fetches and parses url (a server's /metrics).
func scrapeMetrics(url string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return ParseMetrics(io.LimitReader(resp.Body, 16<<20))
}
