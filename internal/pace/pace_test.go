package pace

import (
	"testing"
	"time"
)

func TestFramesKeepASecondsWorthThenThePace(t *testing.T) {
	var p Frames
	now := time.Unix(1000, 0)
	kept := 0
	for range 1000 { // a flood at one instant
		if p.Allow(now, 100) {
			kept++
		}
	}
	if kept != 100 || p.Dropped != 900 {
		t.Fatalf("at once: kept %d, dropped %d; want 100 and 900", kept, p.Dropped)
	}
	kept = 0
	for i := range 1000 { // a frame every millisecond for a second
		if p.Allow(now.Add(time.Duration(i+1)*time.Millisecond), 100) {
			kept++
		}
	}
	if kept < 99 || kept > 101 {
		t.Fatalf("1000 frames over a second at 100 a second: kept %d", kept)
	}
}

func TestPicturesWaitForAKeyframeAfterADrop(t *testing.T) {
	var p Pictures
	now := time.Unix(1000, 0)
	if !p.Allow(now, 1, true) || p.Allow(now, 1, false) {
		t.Fatal("want the first picture kept and the second, over the pace, dropped")
	}
	if p.Allow(now.Add(2*time.Second), 1, false) {
		t.Fatal("a delta picture after a drop was kept: it refers to the dropped one")
	}
	if !p.Allow(now.Add(4*time.Second), 1, true) || !p.Allow(now.Add(6*time.Second), 1, false) {
		t.Fatal("the next keyframe, and the pictures after it, were not kept")
	}
}

// Audio counts by its length: a second's worth of 120 ms frames at once is
// a sixth as many frames as of 20 ms ones, and a 10 ms frame counts one.
func TestAudioCountsByItsLength(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		kept int
	}{{120 * time.Millisecond, AudioFrames / 6}, {20 * time.Millisecond, AudioFrames}, {10 * time.Millisecond, AudioFrames}} {
		var p Frames
		now, kept := time.Unix(1000, 0), 0
		for range 1000 {
			if p.AllowN(now, AudioFrames, AudioCost(c.d)) {
				kept++
			}
		}
		if kept != c.kept {
			t.Errorf("frames of %v at once: kept %d, want %d", c.d, kept, c.kept)
		}
	}
}
