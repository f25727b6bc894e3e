package panics

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestRecoverCountsAndLogsOneStack(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	before := Count("test")
	for range 3 {
		func() {
			defer Recover("test", log)
			var n []byte
			_ = n[0] // the kind of bug a client's bytes reach
		}()
	}
	if got := Count("test") - before; got != 3 {
		t.Fatalf("counted %v panics, want 3", got)
	}
	if n := strings.Count(logs.String(), "stack="); n != 1 {
		t.Fatalf("%d stacks logged, want 1:\n%s", n, logs.String())
	}
}
