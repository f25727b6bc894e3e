package replay

import "testing"

func TestAWindowTakesEachCounterOnceAndNothingTooOld(t *testing.T) {
	var w Window
	take := func(n uint64) bool {
		if !w.Fresh(n) {
			return false
		}
		w.Mark(n)
		return true
	}
	for _, c := range []struct {
		n    uint64
		want bool
	}{
		{0, false},           // never sent
		{1, true},            // the first
		{1, false},           // repeated
		{3, true},            // 2 is late
		{2, true},            // and arrives
		{2, false},           // once
		{Size + 10, true},    // a jump ahead
		{10, false},          // now too old to tell
		{11, true},           // the oldest the window still covers
		{11, false},          // and remembers
		{3 * Size, true},     // a jump past the whole window
		{2*Size + 1, true},   // the oldest it covers, forgotten by the jump
		{Size + 10, false},   // too old
		{3*Size - 1, true},   // late, within the window
		{3*Size - 1, false},  // once
		{3*Size + 64, true},  // a word ahead
		{2*Size + 64, false}, // too old now
	} {
		if got := take(c.n); got != c.want {
			t.Errorf("counter %d taken: %v, want %v", c.n, got, c.want)
		}
	}
}

func TestFreshChangesNothingUntilMark(t *testing.T) {
	var w Window
	if !w.Fresh(5) || !w.Fresh(5) {
		t.Fatal("an unmarked counter stopped being fresh")
	}
	w.Mark(5)
	if w.Fresh(5) {
		t.Fatal("a marked counter is still fresh")
	}
}
