package rtmp

import (
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Refusals counts the connections closed at accept since the server
// started, by the limit they were over.
type Refusals struct {
	Rate         uint64 // Limits.PerAddress.PerSecond and Burst
	AddressConns uint64 // Limits.PerAddress.Connections
	ServerConns  uint64 // Limits.MaxConns (or the server was closing)
}

type refusalReason int

const (
	refusedRate refusalReason = iota
	refusedAddressConns
	refusedServerConns
	numRefusalReasons
)

var refusalReasonNames = [numRefusalReasons]string{"rate", "address_connections", "server_connections"}

// refusalLogEvery: a flood refuses thousands of connections a second; one
// line this often says it is happening without filling the disk.
const refusalLogEvery = time.Minute

type refusalCounter struct {
	counts [numRefusalReasons]atomic.Uint64

	mu       sync.Mutex
	loggedAt time.Time
	unlogged uint64 // refusals since the last line
}

// Refusals reports the connections refused at accept so far.
func (s *Server) Refusals() Refusals {
	c := &s.refusals.counts
	return Refusals{Rate: c[refusedRate].Load(), AddressConns: c[refusedAddressConns].Load(), ServerConns: c[refusedServerConns].Load()}
}

// refuse counts a connection refused at accept, closes it, and logs at
// most one line per refusalLogEvery, which carries how many were refused
// since the previous one. The count comes first, so whoever sees the
// connection close finds it counted.
func (s *Server) refuse(nc net.Conn, reason refusalReason, log *slog.Logger) {
	r := &s.refusals
	r.counts[reason].Add(1)
	nc.Close()
	r.mu.Lock()
	r.unlogged++
	now := time.Now()
	due := now.Sub(r.loggedAt) >= refusalLogEvery
	n := r.unlogged
	if due {
		r.loggedAt, r.unlogged = now, 0
	}
	r.mu.Unlock()
	if due {
		log.Warn("rtmp: refusing connections over a limit", "reason", refusalReasonNames[reason],
			"remote", nc.RemoteAddr().String(), "refused_since_last_line", n)
	}
}
