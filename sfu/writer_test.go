package sfu

import (
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/trtcd/trtcd/internal/rawudp"
)

// What a Writer writes to a track reaches the track's fast-path viewer at
// Flush, in order and decryptable, and not before: an RTMP pusher's frame
// leaves in one system call.
func TestAWriterSendsAFrameAtFlush(t *testing.T) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	sock, err := rawudp.New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	key, salt := make([]byte, 16), make([]byte, 14)
	enc, _ := srtp.CreateContext(key, salt, srtp.ProtectionProfileAes128CmHmacSha1_80)
	dec, _ := srtp.CreateContext(key, salt, srtp.ProtectionProfileAes128CmHmacSha1_80)

	tr := NewTrack("pusher/video", KindVideo, h264, &fakeUpstream{}, NewMetrics())
	d := boundDownTrack(KindVideo, h264, &fakeWriter{})
	d.Attach(tr)
	d.fast.Store(&fastOut{srtp: &outSRTP{ctx: enc}, conn: sock, addr: rx.LocalAddr().(*net.UDPAddr).AddrPort()})
	w := &Writer{ob: newOutbox(sock)} // as Session.NewWriter makes it, on a socket of the media port

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
