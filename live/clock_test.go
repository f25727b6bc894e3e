package live

import (
	"slices"
	"testing"
)

func TestTimelineRepairsJumpsAndKeepsStreamsMonotonic(t *testing.T) {
	var tl timeline
	var video streamClock
	cases := []struct {
		in   uint32
		want int64
		why  string
	}{
		{5000, 0, "the first timestamp is time 0"},
		{5040, 40, "normal steps pass through"},
		{5030, 41, "a small step back is moved after the previous frame"},
		{5080, 80, "and time goes on"},
		{90000, 120, "a jump forward continues one frame later"},
		{85040, 160, "steps after the jump keep their spacing"},
		{10, 200, "an encoder restart (a jump back) continues too"},
		{4294967290, 240, "so does a wrap"},
	}
	for _, c := range cases {
		if got := video.next(tl.at(c.in)); got != c.want {
			t.Fatalf("%s: %d → %d, want %d", c.why, c.in, got, c.want)
		}
	}
}

func TestATagBeforeTheStreamsFirstIsNotNearlyFiftyDaysLater(t *testing.T) {
	var c streamClock
	var got []uint32
	for _, ms := range []int64{-86, 1, -40, 2, 30} { // a reordered frame first, then one stamped before it
		got = append(got, c.tagTime(ms))
	}
	want := []uint32{0, 1, 2, 3, 30}
	if !slices.Equal(got, want) {
		t.Fatalf("FLV tag times %v, want %v", got, want)
	}
}
