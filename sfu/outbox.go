package sfu

import (
	"net/netip"

	"github.com/trtcd/trtcd/internal/rawudp"
)

// outbox holds a socket reader's fast-path sends until its socket has no
// more datagrams waiting, then sends them all with one sendmmsg: a batch
// of datagrams read at once (a video frame's packets, several rooms'
// packets) leaves in one system call instead of one each. Only the reader
// goroutine that owns it uses it, so it takes no lock; it reaches the
// DownTracks through the packet being delivered (Packet.out).
type outbox struct {
	sock  *rawudp.Conn
	batch *rawudp.Batch
	bufs  *[rawudp.BatchSize][MaxPacketSize + srtpOverhead]byte
}

// srtpOverhead is room for SRTP's authentication tag.
const srtpOverhead = 32

func newOutbox(sock *rawudp.Conn) *outbox {
	return &outbox{sock: sock, batch: rawudp.NewBatch(netip.AddrPortFrom(netip.IPv4Unspecified(), 0)) /* every datagram names its own */, bufs: new([rawudp.BatchSize][MaxPacketSize + srtpOverhead]byte)}
}

// slot is the buffer the next datagram is built in.
func (o *outbox) slot() []byte { return o.bufs[o.batch.Len()][:0] }

// add queues the datagram built in slot; a full outbox is sent at once.
func (o *outbox) add(d []byte, to netip.AddrPort) {
	o.batch.AddTo(d, to)
	if o.batch.Len() == rawudp.BatchSize {
		o.flush()
	}
}

// flush sends what is queued. A full send buffer drops the rest, as a
// single send would (counted by the kernel, as then).
func (o *outbox) flush() {
	if o.batch.Len() > 0 {
		o.sock.WriteBatch(o.batch)
	}
}
