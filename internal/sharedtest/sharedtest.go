// Package sharedtest locates the project's shared test material (../shared
// next to the repository), which CI provides beside the clone.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the shared directory: $TRTCD_SHARED_DIR, or ../shared next to
// the module root. A missing directory fails the test: the suite must not
// pass silently without its vectors.
func Dir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("TRTCD_SHARED_DIR"); dir != "" {
		return dir
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			shared := filepath.Join(filepath.Dir(dir), "shared")
			if _, err := os.Stat(shared); err != nil {
				t.Fatalf("shared test data: %v (set TRTCD_SHARED_DIR)", err)
			}
			return shared
		}
		if filepath.Dir(dir) == dir {
			t.Fatalf("no go.mod above %s", wd)
		}
	}
}

// File returns the path of a file under the shared directory.
func File(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Dir(t)}, elem...)...)
}
