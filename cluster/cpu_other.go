//go:build !unix

package cluster

import "time"

// processCPU is not measured here.
func processCPU() time.Duration { return 0 }
