package trtc

import (
	"sync/atomic"
	"testing"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// panickyPeer panics once, on the first event after it is armed: a bug in
// a peer that a bus message reaches, under the registry's lock.
type panickyPeer struct {
	eventPeer
	armed atomic.Bool
}

func (p *panickyPeer) Notify(ev Event) {
	if p.armed.CompareAndSwap(true, false) {
		panic("a bug that a bus message reaches")
	}
	p.eventPeer.Notify(ev)
}

// A panic while applying one bus message is counted and drops that
// message only: the registry's lock is free again and the next message is
// applied.
func TestAPanicApplyingABusMessageDropsOnlyThatMessage(t *testing.T) {
	b, nodes := federated(t, "a", "b")
	p := &panickyPeer{}
	if _, _, e := nodes["a"].enter(enterRequest{App: 1, UserID: "alice", Room: tlssig.Room{ID: 9},
		Grant: &Grant{Privilege: tlssig.PrivAll}, Peer: p}); e != nil {
		t.Fatal(e)
	}
	b.flush()
	p.armed.Store(true)
	before := panics.Count(panics.Cluster)
	enterAs(t, nodes["b"], "bob", "")
	b.flush() // a's telling alice of bob panics
	if got := panics.Count(panics.Cluster) - before; got != 1 {
		t.Fatalf("%v panics counted for the cluster, want 1", got)
	}
	if !nodes["a"].mu.TryLock() {
		t.Fatal("the registry's lock was left held by the recovered panic")
	}
	nodes["a"].mu.Unlock()
	enterAs(t, nodes["b"], "carol", "")
	b.flush()
	if got := p.take(); got != "member-join carol" {
		t.Fatalf("after the panic alice was told %q, want member-join carol", got)
	}
}
