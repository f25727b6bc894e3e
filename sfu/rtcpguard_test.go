package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// A viewer's RTCP naming ever new SSRCs (a BYE names 31) is dropped past a
// few: pion kept a stream for each until the session closed, and 2,000
// such BYEs, 300 KB, grew the server by 160 MB.
func TestRTCPNamingEverNewStreamsIsDropped(t *testing.T) {
	s := startSFU(t)
	v := newHostileViewer(t, s, "room-rtcp")
	before := heapInUse()
	n := uint32(0x30000000)
	for i := range 2000 {
		var srcs []uint32
		for range 31 {
			n++
			srcs = append(srcs, n)
		}
		b, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.Goodbye{Sources: srcs}})
		out, err := v.srtp.EncryptRTCP(nil, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		v.sock.WriteTo(out, v.server)
		if i%100 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	time.Sleep(time.Second)
	if grew := int64(heapInUse()) - int64(before); grew > 30<<20 {
		t.Fatalf("2,000 SRTCP BYEs naming 62,000 SSRCs grew the heap by %d MB", grew>>20)
	}
}
