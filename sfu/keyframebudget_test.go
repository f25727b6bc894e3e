package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/trtcd/trtcd/internal/testpeer"
)

// A viewer that pauses and resumes its video after every keyframe makes
// the publisher send no more than its burst of keyframes; another viewer's
// first keyframe is asked for all the same.
func TestAViewerTogglingPauseCannotHoldThePublisherAtKeyframes(t *testing.T) {
	up := &fakeUpstream{}
	tr := NewTrack("alice/video", KindVideo, h264, up, NewMetrics())
	toggler := boundDownTrack(KindVideo, h264, &fakeWriter{})
	toggler.Attach(tr)
	for i := range uint16(50) {
		tr.Write(rtpBytes(t, 5, i, uint32(i)*3000, []byte{0x65}, false)) // the keyframe asked for
		toggler.SetPaused(true)
		toggler.SetPaused(false)
	}
	if up.plis != keyframeBurst {
		t.Fatalf("50 resumes, each after a keyframe, made %d keyframe requests, want the burst of %d", up.plis, keyframeBurst)
	}
	if n := tr.stats.keyframeRequestsRefused.Load(); n != 50-keyframeBurst+1 {
		t.Fatalf("%d refusals counted, want %d", n, 50-keyframeBurst+1)
	}
	boundDownTrack(KindVideo, h264, &fakeWriter{}).Attach(tr)
	if up.plis != keyframeBurst+1 {
		t.Fatal("a new viewer's first keyframe was not asked for beside the toggling one")
	}
}

// Switching back and forth between the main and the small stream costs the
// two publishers' streams no more keyframes than the subscriber's burst.
func TestAViewerTogglingMainAndSmallCannotHoldThePublisherAtKeyframes(t *testing.T) {
	big, small := newTestLayer('B', 1111, 100, 0), newTestLayer('S', 2222, 100, 0)
	d, _ := subscribedTo(big.tr)
	big.frame(t, true)
	for range 20 {
		for _, l := range []*testLayer{small, big} {
			d.SwitchTo(l.tr)
			l.frame(t, true) // the keyframe the switch waits for
			waitSettled(t, d)
		}
	}
	if asked := big.up.plis + small.up.plis; asked != keyframeBurst {
		t.Fatalf("40 switches made %d keyframe requests, want the burst of %d", asked, keyframeBurst)
	}
}

// A viewer that sends a PLI every 500 ms gets the burst, then one keyframe
// per keyframeEvery, instead of one per keyframeInterval.
func TestAPLIFloodGetsAKeyframeEveryTwoSeconds(t *testing.T) {
	up := &fakeUpstream{}
	tr := NewTrack("alice/video", KindVideo, h264, up, NewMetrics())
	d := boundDownTrack(KindVideo, h264, &fakeWriter{})
	d.Attach(tr)
	const steps = 40 // 20 s
	for range steps {
		// As if 500 ms had gone by, for the track's throttle and the budget.
		tr.lastKeyframeRequest.Add(-int64(keyframeInterval))
		d.keyframes.due.Add(-int64(keyframeInterval))
		d.HandleRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{}})
	}
	want := keyframeBurst + steps*int(keyframeInterval)/int(keyframeEvery)
	if up.plis < want-1 || up.plis > want {
		t.Fatalf("PLIs every 500 ms for 20 s made %d keyframe requests, want %d (the burst, then one per %v)", up.plis, want, keyframeEvery)
	}
}

// A viewer whose budget is spent still gets its keyframe: the wait asks
// for it once the budget allows.
func TestARefusedViewerGetsItsKeyframeWhenItsBudgetAllows(t *testing.T) {
	up := &fakeUpstream{}
	tr := NewTrack("alice/video", KindVideo, h264, up, NewMetrics())
	w := &fakeWriter{}
	d := boundDownTrack(KindVideo, h264, w)
	d.Attach(tr)
	for range keyframeBurst {
		tr.lastKeyframeRequest.Add(-int64(keyframeInterval))
		d.HandleRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{}})
	}
	asked := up.plis
	tr.Write(rtpBytes(t, 5, 1, 0, []byte{0x41}, false))
	tr.lastKeyframeRequest.Add(-int64(keyframeRetry))
	tr.Write(rtpBytes(t, 5, 2, 3000, []byte{0x41}, false))
	if up.plis != asked {
		t.Fatalf("a waiting viewer over its budget made a request")
	}
	d.keyframes.due.Add(-int64(keyframeEvery)) // two seconds on
	tr.Write(rtpBytes(t, 5, 3, 6000, []byte{0x41}, false))
	if up.plis != asked+1 {
		t.Fatalf("the waiting viewer's budget allows one more: %d requests, want %d", up.plis, asked+1)
	}
	tr.Write(rtpBytes(t, 5, 4, 9000, []byte{0x65}, false))
	if w.n != 1 {
		t.Fatalf("the viewer got %d packets, want the keyframe", w.n)
	}
}

func TestTheKeyframeBudget(t *testing.T) {
	var b keyframeBudget
	now := int64(time.Hour)
	for i := range keyframeBurst {
		if !b.take(now) {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if b.take(now) || b.take(now+int64(keyframeEvery)-1) {
		t.Fatal("a request past the burst went out")
	}
	if !b.take(now+int64(keyframeEvery)) || b.take(now+int64(keyframeEvery)) {
		t.Fatal("want exactly one more request keyframeEvery later")
	}
	if !b.take(now+int64(time.Minute)) || (*keyframeBudget)(nil).take(0) == false {
		t.Fatal("the budget does not refill, or a nil budget refuses")
	}
}

// A viewer's keyframe budget for a publisher's camera is one, whichever of
// its subscriptions asks: with one per subscription, a user holding several
// (WHEP allows 50) or subscribing anew each time asked as often as it had
// subscriptions. Another viewer has its own.
func TestAViewersSubscriptionsShareOneKeyframeBudget(t *testing.T) {
	s := startSFU(t)
	publish(t, s, "kb", "alice", testpeer.Options{})
	publishedVideo(t, s, "kb", "alice")
	subscribe(t, s, "kb", "mallory", "alice")
	subscribe(t, s, "kb", "mallory", "alice")
	subscribe(t, s, "kb", "bob", "alice")
	s.mu.Lock()
	r := s.rooms["kb"]
	s.mu.Unlock()
	budgets := map[string]map[*keyframeBudget]int{}
	r.mu.Lock()
	for f, sub := range r.subs {
		if d, ok := f.(*DownTrack); ok && d.kind == KindVideo {
			if budgets[sub.session.userID] == nil {
				budgets[sub.session.userID] = map[*keyframeBudget]int{}
			}
			budgets[sub.session.userID][d.keyframes]++
		}
	}
	r.mu.Unlock()
	if len(budgets["mallory"]) != 1 || len(budgets["bob"]) != 1 {
		t.Fatalf("mallory's two subscriptions have %d keyframe budgets, bob's one %d; want one each", len(budgets["mallory"]), len(budgets["bob"]))
	}
	for b := range budgets["mallory"] {
		if budgets["bob"][b] != 0 {
			t.Fatal("bob and mallory share a keyframe budget")
		}
		if budgets["mallory"][b] != 2 {
			t.Fatalf("mallory's budget serves %d DownTracks, want her two sessions' videos", budgets["mallory"][b])
		}
	}
}
