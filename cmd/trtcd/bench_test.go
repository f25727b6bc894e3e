package main

import (
	"flag"
	"testing"
	"time"

	"github.com/trtcd/trtcd/bench"
)

// A capacity search with the raw engine holds p99 to 50 ms unless
// --max-p99 says otherwise; the pion engine keeps --max-p99's 100 ms.
func TestCapacityP99LimitFollowsTheEngine(t *testing.T) {
	for _, c := range []struct {
		engine string
		args   []string
		want   time.Duration
	}{
		{bench.EngineRaw, nil, 50 * time.Millisecond},
		{bench.EngineRaw, []string{"--max-p99", "80ms"}, 80 * time.Millisecond},
		{bench.EnginePion, nil, 100 * time.Millisecond},
		{bench.EnginePion, []string{"--max-p99", "30ms"}, 30 * time.Millisecond},
	} {
		fs := flag.NewFlagSet("bench", flag.ContinueOnError)
		maxP99 := fs.Duration("max-p99", 100*time.Millisecond, "")
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		if got := capacityMaxP99(fs, c.engine, *maxP99); got != c.want {
			t.Errorf("%s engine, %v: p99 limit %v, want %v", c.engine, c.args, got, c.want)
		}
	}
}
