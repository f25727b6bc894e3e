// Package replay tells a packet counter seen before, or too old to tell,
// from a new one: the receive window of a protocol whose sender numbers
// its packets 1, 2, 3, … and whose network may reorder or repeat them
// (RFC 6479; WireGuard keeps the same kind).
package replay

// Size is how far behind the newest counter a packet may arrive and still
// be taken: 1024 packets, about a second of a peer's relayed media at
// 12 rooms, far more reordering than a network does.
const Size = 64 * words

const words = 16

// Window remembers which of the last Size counters arrived. The zero value
// is ready: nothing seen yet. One goroutine at a time.
type Window struct {
	newest uint64
	seen   [words]uint64 // bit n%Size: counter n, for n within Size of newest
}

// Fresh reports whether counter n has not been seen and is recent enough
// to know that: false for 0 (never sent), a repeat, or a counter Size or
// more behind the newest. It changes nothing: call Mark once the packet
// proved genuine, so that a forged packet cannot move the window.
func (w *Window) Fresh(n uint64) bool {
	switch {
	case n == 0:
		return false
	case n > w.newest:
		return true
	case w.newest-n >= Size:
		return false
	}
	return w.seen[n/64%words]&(1<<(n%64)) == 0
}

// Mark records counter n, which Fresh accepted.
func (w *Window) Mark(n uint64) {
	if n > w.newest {
		w.forget(w.newest, n)
		w.newest = n
	}
	w.seen[n/64%words] |= 1 << (n % 64)
}

// forget clears the bits of the counters after newest up to next, which
// the window now covers instead of the oldest ones.
func (w *Window) forget(newest, next uint64) {
	if next-newest >= Size {
		w.seen = [words]uint64{}
		return
	}
	for n := newest + 1; n <= next; n++ {
		w.seen[n/64%words] &^= 1 << (n % 64)
	}
}
