package classroom

import (
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// slowStoreClass is class n, created by alice, with alice and bob in it,
// on a store whose disk is slow: nothing commits until tx ends.
func slowStoreClass(t *testing.T, n uint32) (*Classrooms, tlssig.Room, *trtc.Member, *eventPeer, *bolt.Tx) {
	t.Helper()
	cs, gate := testClasses(t, 0, false)
	id := tlssig.Room{ID: n}
	if e := cs.Create(testApp, id, "alice"); e != nil {
		t.Fatal(e)
	}
	cs.SignIn(testApp, "alice", &eventPeer{})
	alice := enter(t, gate, "alice", id, &eventPeer{})
	bob := &eventPeer{}
	enter(t, gate, "bob", id, bob)
	bob.take()
	tx, err := cs.Store.db.Begin(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() }) // before the store closes, should the test stop early
	return cs, id, alice, bob, tx
}

// A group message reaches members only once it is stored. Delivered
// before, a crash in between lost it, and the restart gave its number to
// the next message, which every member that had seen the lost one dropped
// as a repeat.
func TestAGroupMessageIsDeliveredOnceStored(t *testing.T) {
	cs, _, alice, bob, tx := slowStoreClass(t, 7)
	sent := make(chan *trtc.Error, 1)
	go func() {
		_, e := cs.Send(testApp, "alice", alice, SendRequest{Type: "text", Text: "B", ClientMsgID: "2"})
		sent <- e
	}()
	time.Sleep(300 * time.Millisecond)
	if got := bob.take(); strings.Contains(got, EventMessage) {
		t.Fatalf("bob was told %q before the message was stored", got)
	}
	tx.Rollback()
	if e := <-sent; e != nil {
		t.Fatal(e)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if got := bob.take(); got == EventMessage {
			break
		} else if got != "" || time.Now().After(deadline) {
			t.Fatalf("once stored, bob was told %q; want one message", got)
		}
	}
}

// A class ended with a message still being stored delivers that message
// first: after the end it would reach a class recreated under the same id
// (whose members would then drop their own messages as repeats), and its
// late store would bring the deleted history back.
func TestADestroyedClassDeliversItsLastMessageFirst(t *testing.T) {
	cs, id, alice, bob, tx := slowStoreClass(t, 8)
	sent := make(chan *trtc.Error, 1)
	go func() {
		_, e := cs.Send(testApp, "alice", alice, SendRequest{Type: "text", Text: "last", ClientMsgID: "9"})
		sent <- e
	}()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		c, _ := cs.find(testApp, id)
		c.mu.Lock()
		numbered := c.seq > 0
		c.mu.Unlock()
		if numbered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the message was never numbered")
		}
	}
	destroyed := make(chan *trtc.Error, 1)
	go func() { destroyed <- cs.Destroy(trtc.App{SDKAppID: testApp}, id, "alice") }()
	time.Sleep(100 * time.Millisecond) // a destroy that does not wait ends the class now
	tx.Rollback()
	if e := <-sent; e != nil {
		t.Fatal(e)
	}
	if e := <-destroyed; e != nil {
		t.Fatal(e)
	}
	if got := bob.take(); !strings.HasPrefix(got, EventMessage+", "+EventDestroyed) {
		t.Fatalf("bob was told %q; want the message, then the end", got)
	}
}
