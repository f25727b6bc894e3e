package sfu

import "testing"

// Sequence numbers wrap at 65536: a number up to half the space ahead is
// newer, so 2 follows 65535, and a number is never newer than itself.
func TestSeqNewer(t *testing.T) {
	for _, c := range []struct {
		a, b  uint16
		newer bool
	}{
		{1, 0, true},
		{0, 1, false},
		{5, 5, false},
		{2, 65535, true},
		{65535, 2, false},
		{0x7fff, 0, true},
		{0x8000, 0, false},
	} {
		if got := SeqNewer(c.a, c.b); got != c.newer {
			t.Errorf("SeqNewer(%d, %d) = %v, want %v", c.a, c.b, got, c.newer)
		}
	}
}
