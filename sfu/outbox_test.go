package sfu

import (
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/trtcd/trtcd/internal/rawudp"
)

// A socket reader's fast-path sends wait in its outbox and leave together
// when it flushes (its socket has nothing more to read), in order and
// decryptable by the subscriber; a send without an outbox leaves at once.
func TestOutboxHoldsSendsUntilFlushed(t *testing.T) {
	o, rx, dec := loopbackFastOut(t)
	ob := newOutbox(o.conn)
	send := func(seq uint16, ob *outbox) {
		h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, SSRC: 7}
		if err := o.send(&h, []byte{byte(seq), 0xaa}, ob); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1500)
	// On loopback a datagram sent is in the receiver's buffer when the
	// send returns: a short read finds it at once, or nothing was sent.
	// (A deadline already past would not even look.)
	waiting := func() bool {
		rx.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, _, err := rx.ReadFromUDPAddrPort(buf)
		return err == nil
	}
	receive := func(want uint16) {
		rx.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := rx.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("waiting for packet %d: %v", want, err)
		}
		var h rtp.Header
		out, err := dec.DecryptRTP(nil, buf[:n], &h)
		if err != nil || h.SequenceNumber != want || out[h.MarshalSize()] != byte(want) {
			t.Fatalf("got packet %d (%v), want %d", h.SequenceNumber, err, want)
		}
	}
	for seq := range uint16(3) {
		send(seq, ob)
	}
	if waiting() {
		t.Fatal("a queued send left before the outbox was flushed")
	}
	ob.flush()
	for seq := range uint16(3) {
		receive(seq)
	}
	send(3, nil)
	receive(3)
}

// loopbackFastOut is a fast-path sender on a raw socket to a plain
// loopback receiver, rx, and the receiver's decryption.
func loopbackFastOut(t *testing.T) (*fastOut, *net.UDPConn, *srtp.Context) {
	t.Helper()
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rx.Close() })
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	sock, err := rawudp.New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Close() })
	key, salt := make([]byte, 16), make([]byte, 14)
	enc, _ := srtp.CreateContext(key, salt, srtp.ProtectionProfileAes128CmHmacSha1_80)
	dec, _ := srtp.CreateContext(key, salt, srtp.ProtectionProfileAes128CmHmacSha1_80)
	return &fastOut{srtp: &outSRTP{ctx: enc}, conn: sock, addr: rx.LocalAddr().(*net.UDPAddr).AddrPort()}, rx, dec
}
