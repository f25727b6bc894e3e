package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// npmInstalls remembers, per package list, where this test binary installed it.
var npmInstalls sync.Map // key → *npmInstall

type npmInstall struct {
	once sync.Once
	dir  string
	err  string
}

// requireNPM returns the path of tool (npm or node), skipping the test when
// it is missing unless TRTCD_REQUIRE_NPM=1 (make test sets it): then a
// missing tool fails. why says what the test needs it for.
func requireNPM(t *testing.T, tool, why string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("TRTCD_REQUIRE_NPM") == "1" {
			t.Fatalf("%s is not installed and TRTCD_REQUIRE_NPM=1: %s", tool, why)
		}
		t.Skipf("%s is not installed: %s (TRTCD_REQUIRE_NPM=1 makes this a failure)", tool, why)
	}
	return path
}

// npmPackages installs packages (exact versions, "name@version") from npm
// and returns the directory whose node_modules holds them. They are never
// committed: the first test that asks installs them into a directory under
// the system's temporary directory named after the list, which later test
// binaries reuse (a finished install is renamed into place, so a binary
// never sees half of one). The tests run in a network namespace with only
// loopback, so npm runs in the parent process's namespace, where the
// registry is.
func npmPackages(t *testing.T, why string, packages ...string) string {
	t.Helper()
	npm := requireNPM(t, "npm", why)
	sum := sha256.Sum256([]byte(strings.Join(packages, "\n")))
	key := hex.EncodeToString(sum[:6])
	v, _ := npmInstalls.LoadOrStore(key, &npmInstall{})
	in := v.(*npmInstall)
	in.once.Do(func() { in.dir, in.err = installNPM(npm, key, packages) })
	if in.err != "" {
		t.Fatal(in.err)
	}
	return in.dir
}

func installNPM(npm, key string, packages []string) (string, string) {
	final := filepath.Join(os.TempDir(), "trtcd-npm-"+key)
	if _, err := os.Stat(filepath.Join(final, "node_modules")); err == nil {
		return final, ""
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "trtcd-npm-"+key+"-partial-")
	if err != nil {
		return "", err.Error()
	}
	args := append([]string{"install", "--no-audit", "--no-fund", "--no-save", "--loglevel=error", "--prefix", tmp}, packages...)
	cmd := exec.Command(npm, args...)
	if os.Getenv(netnsEnv) != "" {
		cmd = exec.Command("nsenter", append([]string{"-t", strconv.Itoa(os.Getppid()), "-n", "--", npm}, args...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return "", "npm install " + strings.Join(packages, " ") + ": " + err.Error() + "\n" + string(out)
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another test binary finished first: use its copy.
		os.RemoveAll(tmp)
		if _, serr := os.Stat(filepath.Join(final, "node_modules")); serr != nil {
			return "", "installing npm packages: " + err.Error()
		}
	}
	return final, ""
}
