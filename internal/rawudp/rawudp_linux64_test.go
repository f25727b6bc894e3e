//go:build linux && (amd64 || arm64)

package rawudp

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// More datagrams than one batch holds come out in order, each with its
// sender; one too long for any WebRTC use is dropped, not cut short.
func TestRawUDPBatchesKeepOrderAndDropTruncated(t *testing.T) {
	a, aAddr := newTestConn(t)
	b, bAddr := newTestConn(t)
	want := [][]byte{}
	for i := range 2*readBatch + 3 {
		d := []byte(fmt.Sprintf("datagram %d", i))
		if i == readBatch-1 {
			d = bytes.Repeat([]byte{'x'}, datagramSize+100)
		} else {
			want = append(want, d)
		}
		if _, err := a.WriteToAddrPort(d, bAddr); err != nil {
			t.Fatal(err)
		}
	}
	for i, w := range want {
		d, from, err := b.Next()
		if err != nil || !bytes.Equal(d, w) || from != aAddr {
			t.Fatalf("datagram %d: %q from %v (%v), want %q from %v", i, d, from, err, w, aAddr)
		}
	}
}

// A datagram that arrives after a read found fewer than a batch is read
// at once, not when the next one comes (the poller forgets readiness it
// saw before the wait).
func TestADatagramAfterAShortBatchIsReadAtOnce(t *testing.T) {
	a, _ := newTestConn(t)
	b, bAddr := newTestConn(t)
	for _, d := range []string{"first", "second"} {
		if _, err := a.WriteToAddrPort([]byte(d), bAddr); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // the poller sees it before the read
		b.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		got, _, err := b.Next()
		if err != nil || string(got) != d {
			t.Fatalf("read %q (%v), want %q", got, err, d)
		}
	}
}
