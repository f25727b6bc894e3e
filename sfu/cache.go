package sfu

// packetCache keeps a track's most recent packets in a fixed ring. The ring
// is also where packets are read into, so forwarding never allocates: a new
// packet overwrites the oldest. Only the track's goroutine touches it.
type packetCache struct {
	ring  []Packet
	next  int
	index []int32 // sequence number modulo len(ring) → ring position, or -1
}

// Cache sizes. Video: 256 packets is about 2.5 s at 800 kbps, ten times a
// bad round trip, so a NACK always finds its packet. Audio is not NACKed by
// browsers; its ring is only the read buffer plus a little history.
const (
	videoCacheSize = 256
	audioCacheSize = 32
)

func newPacketCache(size int) *packetCache {
	c := &packetCache{ring: make([]Packet, size), index: make([]int32, size)}
	for i := range c.index {
		c.index[i] = -1
	}
	return c
}

// slot is the packet the next read goes into (the oldest one).
func (c *packetCache) slot() *Packet { return &c.ring[c.next] }

// commit keeps the packet just read into slot().
func (c *packetCache) commit() {
	p := &c.ring[c.next]
	c.index[int(p.SequenceNumber)%len(c.index)] = int32(c.next)
	c.next++
	if c.next == len(c.ring) {
		c.next = 0
	}
}

// last is the sequence number of the packet committed last.
func (c *packetCache) last() (uint16, bool) {
	i := c.next - 1
	if i < 0 {
		i = len(c.ring) - 1
	}
	if c.ring[i].n == 0 {
		return 0, false
	}
	return c.ring[i].SequenceNumber, true
}

// get returns the cached packet with this sequence number from this SSRC,
// or nil when it has been overwritten or never arrived.
func (c *packetCache) get(ssrc uint32, seq uint16) *Packet {
	i := c.index[int(seq)%len(c.index)]
	if i < 0 {
		return nil
	}
	p := &c.ring[i]
	if p.n == 0 || p.SequenceNumber != seq || p.SSRC != ssrc {
		return nil
	}
	return p
}
