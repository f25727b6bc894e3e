package codec

import (
	"testing"
	"time"
)

func TestOpusDurationReadsTheTOC(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		packet []byte
		want   time.Duration
	}{
		{[]byte{0x78, 1, 2}, 20 * ms},                 // config 15 (hybrid FB 20 ms), one frame
		{[]byte{0xfc, 1}, 20 * ms},                    // config 31 (CELT FB 20 ms), one frame
		{[]byte{0xfd, 1, 2}, 40 * ms},                 // two frames
		{[]byte{0xfb, 6, 1, 1, 1, 1, 1, 1}, 120 * ms}, // config 31, code 3: six frames
		{[]byte{0x1b, 2, 1, 1}, 120 * ms},             // config 3 (SILK NB 60 ms), code 3: two frames
		{[]byte{0xe3, 48}, 120 * ms},                  // config 28 (CELT 2.5 ms), code 3: 48 frames
		{[]byte{0xfb, 63}, 120 * ms},                  // more frames than a packet may hold
		{[]byte{0xfb}, 20 * ms},                       // code 3 with no count
		{nil, 20 * ms},
	} {
		if got := OpusDuration(c.packet); got != c.want {
			t.Errorf("OpusDuration(% x) = %v, want %v", c.packet, got, c.want)
		}
	}
}
