package cluster

import (
	"testing"

	"github.com/trtcd/trtcd/internal/testredis"
)

// StartRedis starts a private redis-server for one test (testredis.Start).
func StartRedis(t testing.TB) string { return testredis.Start(t) }
