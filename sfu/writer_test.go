package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// What a Writer writes to a track reaches the track's fast-path viewer at
// Flush, in order and decryptable, and not before: an RTMP pusher's frame
// leaves in one system call.
func TestAWriterSendsAFrameAtFlush(t *testing.T) {
	o, rx, dec := loopbackFastOut(t)
	tr := NewTrack("pusher/video", KindVideo, h264, &fakeUpstream{}, NewMetrics())
	d := boundDownTrack(KindVideo, h264, &fakeWriter{})
	d.Attach(tr)
	d.fast.Store(o)
	w := &Writer{ob: newOutbox(o.conn)} // as Session.NewWriter makes it, on a socket of the media port

	buf := make([]byte, 1500)
	for i := range uint16(3) {
		w.Write(tr, rtpBytes(t, 5, 100+i, 0, []byte{0x65, byte(i)}, true)) // one keyframe in three packets
	}
	// On loopback a datagram sent is in the receiver's buffer when the
	// send returns: a short read finds it, or nothing was sent.
	rx.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, _, err := rx.ReadFromUDPAddrPort(buf); err == nil {
		t.Fatal("a packet left before Flush")
	}
	w.Flush()
	for i := range 3 {
		rx.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := rx.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("packet %d after Flush: %v", i, err)
		}
		var h rtp.Header
		plain, err := dec.DecryptRTP(nil, buf[:n], &h)
		if err != nil || plain[len(plain)-1] != byte(i) {
			t.Fatalf("packet %d: %v, payload % x", i, err, plain)
		}
	}
}
