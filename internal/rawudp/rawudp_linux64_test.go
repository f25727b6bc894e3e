//go:build linux && (amd64 || arm64)

package rawudp

import (
	"bytes"
	"fmt"
	"testing"
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
