//go:build !(linux && (amd64 || arm64))

package rawudp

import "net/netip"

// BatchSize is the most datagrams one WriteBatch sends.
const BatchSize = 32

// Batch is datagrams for one address; elsewhere than Linux they are sent
// one by one.
type Batch struct {
	to  netip.AddrPort
	d   [BatchSize][]byte
	tos [BatchSize]netip.AddrPort
	n   int
}

func NewBatch(addr netip.AddrPort) *Batch { return &Batch{to: addr} }

// MaxSegments is the most datagrams one AddSegments may carry, and
// MaxSegmentedSize the most bytes.
const (
	MaxSegments      = 64
	MaxSegmentedSize = 65000
)

func (b *Batch) Add(d []byte) bool {
	if b.n == BatchSize || len(d) == 0 {
		return false
	}
	b.d[b.n] = d
	b.tos[b.n] = b.to
	b.n++
	return true
}

// AddTo queues a datagram for addr instead of the batch's address.
func (b *Batch) AddTo(d []byte, addr netip.AddrPort) bool {
	if !b.Add(d) {
		return false
	}
	b.tos[b.n-1] = addr
	return true
}

// AddSegments queues d as datagrams of size bytes each; here one by one.
func (b *Batch) AddSegments(d []byte, size int) bool {
	if size <= 0 || size >= len(d) {
		return b.Add(d)
	}
	if b.n+(len(d)+size-1)/size > BatchSize {
		return false
	}
	for ; len(d) > 0; d = d[min(size, len(d)):] {
		b.Add(d[:min(size, len(d))])
	}
	return true
}

func (b *Batch) Len() int { return b.n }

func (b *Batch) Reset() {
	clear(b.d[:b.n])
	b.n = 0
}

func (u *Conn) WriteBatch(b *Batch) (int, error) {
	defer b.Reset()
	for i := range b.n {
		if _, err := u.WriteToAddrPort(b.d[i], b.tos[i]); err != nil {
			return i, err
		}
	}
	return b.n, nil
}

// SupportsGSO: AddSegments sends one datagram at a time here.
func SupportsGSO() bool { return false }
