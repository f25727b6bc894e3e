package live

import "testing"

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
