package bench

import "testing"

// Frames are counted by timestamp steps: a step of k frame intervals is
// k-1 frames missing; a step back (a new publish) is not a loss.
func TestFramesInCountsMissingFramesByTheMedianStep(t *testing.T) {
	for _, c := range []struct {
		ts                 []uint32
		received, expected uint64
	}{
		{nil, 0, 0},
		{[]uint32{0, 67, 133, 200, 267}, 5, 5},
		{[]uint32{0, 67, 133, 200, 400, 467}, 6, 8},            // 2 video frames missing
		{[]uint32{0, 21, 43, 64, 85, 107, 149, 171}, 8, 9},     // one AAC frame missing
		{[]uint32{0, 67, 133, 200, 0, 67, 133}, 7, 7},          // republished
		{[]uint32{0, 67, 133, 200, 60000, 60067, 60133}, 7, 7}, // a jump over 10 s is a restart
	} {
		if r, e := framesIn(c.ts); r != c.received || e != c.expected {
			t.Errorf("framesIn(%v) = %d, %d; want %d, %d", c.ts, r, e, c.received, c.expected)
		}
	}
}

// The good rooms split 10:6:4 and every kind has a room.
func TestSplitRoomsKeepsEveryKind(t *testing.T) {
	for n, want := range map[int][3]int{20: {10, 6, 4}, 3: {1, 1, 1}, 5: {3, 1, 1}, 40: {20, 12, 8}} {
		if w, ws, r := splitRooms(n); [3]int{w, ws, r} != want {
			t.Errorf("splitRooms(%d) = %d, %d, %d; want %v", n, w, ws, r, want)
		}
	}
}
