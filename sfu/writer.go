package sfu

// A Writer holds the fast-path sends of the packets one goroutine writes
// to its tracks until Flush, then sends them with one sendmmsg: an RTMP
// pusher's video frame, packetized into several RTP packets, leaves in one
// system call instead of one per packet (a socket reader batches the same
// way, outbox.go). Like Track.Write, it is for one goroutine, the tracks'
// only writer; it takes no lock.
type Writer struct{ ob *outbox }

// NewWriter returns a Writer for the tracks s publishes.
func (s *Session) NewWriter() *Writer {
	return &Writer{ob: newOutbox(s.room.sfu.t.udp.socks[0])}
}

// Write is t.Write, with the packet's fast-path sends held until Flush
// (or until a batch is full).
func (w *Writer) Write(t *Track, b []byte) {
	n := copy(t.cache.slot().Buffer(), b)
	t.forward(n, monotonic(), w.ob)
}

// Flush sends what Write holds.
func (w *Writer) Flush() { w.ob.flush() }
