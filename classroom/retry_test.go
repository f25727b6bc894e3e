package classroom

import (
	"testing"
	"time"
)

// A send is remembered for RetryWindow, then forgotten.
func TestRetryCacheForgetsAfterTheWindow(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	r := newRetryCache(10, time.Minute)
	r.now = func() time.Time { return now }
	k := retryKey{1, "alice", "m1"}
	r.add(k, sentMessage{Seq: 7})
	now = now.Add(59 * time.Second)
	if m, ok := r.get(k); !ok || m.Seq != 7 {
		t.Fatalf("within the window: %v %v", m, ok)
	}
	now = now.Add(time.Second)
	if _, ok := r.get(k); ok || r.size() != 0 {
		t.Fatalf("past the window: remembered %v, %d entries", ok, r.size())
	}
}
