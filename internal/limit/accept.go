package limit

import (
	"errors"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// AcceptRetries counts accepts that failed for want of a resource and were
// tried again, by listener; the server registers it. A rising count means
// the process is out of file descriptors or memory: raise RLIMIT_NOFILE or
// lower the connection limits.
var AcceptRetries = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "trtcd_accept_retries_total",
	Help: "Accepts that failed for want of file descriptors, buffers or memory (or a client that left first) and were retried, by listener.",
}, []string{"listener"})

// passingAcceptErrors are the accept failures that leave the listener
// good: the process or the system is out of descriptors, buffers or
// memory for now, or the client left before it was accepted.
var passingAcceptErrors = []error{
	syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED,
}

// AcceptWillPass reports whether err, from a listener's Accept, passes
// with time. Such an error must not end an accept loop: a server that
// stops accepting once its descriptors run out never serves again, though
// they come back as soon as connections close.
func AcceptWillPass(err error) bool {
	for _, passing := range passingAcceptErrors {
		if errors.Is(err, passing) {
			return true
		}
	}
	return false
}

// Backoff is the wait between accepts that keep failing: 5 ms, doubling to
// at most a second, as net/http waits. Retrying at once would spin a core
// while the descriptors are gone; a second is short enough that a server
// comes back soon after they return. The zero Backoff starts at 5 ms.
type Backoff struct{ wait time.Duration }

// Next is how long to wait before the next retry.
func (b *Backoff) Next() time.Duration {
	b.wait = min(max(2*b.wait, 5*time.Millisecond), time.Second)
	return b.wait
}

// Reset starts again at 5 ms, once an accept has succeeded.
func (b *Backoff) Reset() { b.wait = 0 }
