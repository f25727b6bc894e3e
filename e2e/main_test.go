// Package e2e holds the tests that run a whole trtcd against real clients:
// headless Chromium here. Every test runs in a private network namespace
// with only loopback, so nothing a browser does can leave the machine.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

const netnsEnv = "TRTCD_E2E_NETNS"

// TestMain re-runs the test binary inside `unshare -n` (a network namespace
// with just lo) unless it already runs in one. Without the privilege for
// that, the tests still run: Chromium is then kept on loopback by its flags
// and the server's loopback-only ICE settings.
func TestMain(m *testing.M) {
	if os.Getenv(netnsEnv) == "" {
		if _, err := exec.LookPath("unshare"); err == nil && os.Geteuid() == 0 {
			cmd := exec.Command("unshare", append([]string{"--net", "--", "/bin/sh", "-c", `ip link set lo up && exec "$0" "$@"`, os.Args[0]}, os.Args[1:]...)...)
			cmd.Env = append(os.Environ(), netnsEnv+"=1")
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				if ee, ok := err.(*exec.ExitError); ok {
					os.Exit(ee.ExitCode())
				}
				fmt.Fprintln(os.Stderr, "e2e: cannot enter a network namespace:", err)
				os.Exit(1)
			}
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "e2e: not root; running in the host network namespace (loopback by configuration only)")
	}
	os.Exit(m.Run())
}
