package classroom

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/trtc"
)

// panickyPeer panics once, on the first event after it is armed: a bug in
// a peer that a bus message reaches.
type panickyPeer struct {
	eventPeer
	armed atomic.Bool
}

func (p *panickyPeer) Notify(ev trtc.Event) {
	if p.armed.CompareAndSwap(true, false) {
		panic("a bug that a bus message reaches")
	}
	p.eventPeer.Notify(ev)
}

// The class events of the bus (their entry points in federation.go)
// recover as the room core's ApplyRemote does.
func TestAPanicDeliveringAClassEventIsRecovered(t *testing.T) {
	cs, _ := testClasses(t, 0, true)
	p := &panickyPeer{}
	cs.SignIn(testApp, "dave", p)
	p.armed.Store(true)
	before := panics.Count(panics.Cluster)
	cs.DeliverC2C(UserRef(testApp, "dave"), []byte(`{"text":"first"}`))
	if got := panics.Count(panics.Cluster) - before; got != 1 {
		t.Fatalf("%v panics counted for the cluster, want 1", got)
	}
	cs.DeliverC2C(UserRef(testApp, "dave"), []byte(`{"text":"second"}`))
	if got := p.take(); got != EventMessage {
		t.Fatalf("after the panic dave was told %q, want one message", got)
	}
	// The user signed in again on another node, later: dave's session
	// here ends, with the classrooms' lock free again.
	cs.SignedInElsewhere(UserRef(testApp, "dave"), "elsewhere", time.Now().Add(time.Hour).UnixNano())
	if len(p.kicks) != 1 || p.kicks[0] != trtc.CodeForceOffline {
		t.Fatalf("dave's session got kicks %v, want one force-offline", p.kicks)
	}
}
