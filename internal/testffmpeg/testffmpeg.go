// Package testffmpeg runs the ffmpeg CLI for tests: as a source of real
// media and as a real RTMP or FLV peer.
package testffmpeg

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// timeout bounds one run: the tests' runs take seconds, and a stuck ffmpeg
// (a peer that never answers) should fail the test, not hang it.
const timeout = time.Minute

// Path returns the path of an ffmpeg suite tool (ffmpeg, ffprobe),
// skipping the test when it is missing, unless TRTCD_REQUIRE_FFMPEG=1 (the
// test command installed it, as in CI): then a missing tool fails.
func Path(t testing.TB, tool string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("TRTCD_REQUIRE_FFMPEG") == "1" {
			t.Fatalf("%s required (TRTCD_REQUIRE_FFMPEG=1): %v", tool, err)
		}
		t.Skipf("%s is not installed", tool)
	}
	return path
}

// Require skips (or fails, as Path) a test that needs tools.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		Path(t, tool)
	}
}

// command is ffmpeg with args, without stdin (it would read the test's)
// and without its banner.
func command(ctx context.Context, t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	return exec.CommandContext(ctx, Path(t, "ffmpeg"), append([]string{"-nostdin", "-hide_banner"}, args...)...)
}

// Run runs ffmpeg for at most a minute and returns all it printed and how
// it ended, for a test that checks both (a push the server refuses must
// fail).
func Run(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out bytes.Buffer
	cmd := command(ctx, t, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// Output runs ffmpeg with -v error for at most a minute and returns what it
// wrote to stdout (a stream made with output "-"), failing the test with
// its complaints when it fails.
func Output(t testing.TB, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := command(ctx, t, append([]string{"-v", "error"}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, stderr.String())
	}
	return out
}
