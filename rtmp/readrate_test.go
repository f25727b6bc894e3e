package rtmp

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

type endless struct{}

func (endless) Read(b []byte) (int, error) { return len(b), nil }

// A connection's reads take no more than Limits.ReadKbps: 300 KB at
// 800 kbit/s (100 KB/s, a second's burst) take at least 2 s, however fast
// the sender; and a connection that closes stops waiting at once.
func TestReadsAreCappedAtReadKbps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &countingReader{r: endless{}, rate: readRate(800), ctx: ctx}
	start := time.Now()
	if _, err := io.CopyN(io.Discard, r, 300_000); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 1900*time.Millisecond {
		t.Fatalf("300 KB at 100 KB/s with a 100 KB burst read in %v, want at least 2 s", took)
	}
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	start = time.Now()
	_, err := io.CopyN(io.Discard, r, 1_000_000)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Fatalf("a closed connection's read: %v after %v, want context.Canceled at once", err, time.Since(start))
	}
	if readRate(-1) != nil {
		t.Fatal("a negative ReadKbps still caps")
	}
}
