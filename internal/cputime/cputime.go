// Package cputime reads the CPU time this process has used, for the
// benchmarks that report CPU per stream or per packet rather than wall
// time (which counts waiting for the ticker as work).
package cputime

import (
	"syscall"
	"time"
)

// Self is the user and system CPU time the process has used so far, on
// all its threads; a benchmark reports the difference across its loop.
func Self() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err) // only EFAULT or EINVAL, neither possible here
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
