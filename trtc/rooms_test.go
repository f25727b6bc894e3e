package trtc

import (
	"testing"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

type silentPeer struct{ kicked int }

func (p *silentPeer) Notify(Event) {}
func (p *silentPeer) Kick(*Error)  { p.kicked++ }

// A user alone in a room who signs in again keeps a live room: the next
// member joins the same room and sees them.
func TestTakeoverWhileAloneKeepsTheRoom(t *testing.T) {
	r := NewRegistry(20, 0)
	defer r.Close()
	g := &Grant{Privilege: tlssig.PrivAll}
	room := tlssig.Room{ID: 7}
	first := &silentPeer{}
	if _, _, e := r.enter(enterRequest{App: 1, UserID: "a", Room: room, Grant: g, Peer: first}); e != nil {
		t.Fatal(e)
	}
	a, _, e := r.enter(enterRequest{App: 1, UserID: "a", Room: room, Grant: g, Peer: &silentPeer{}})
	if e != nil {
		t.Fatal(e)
	}
	if first.kicked != 1 {
		t.Fatal("the first session was not kicked")
	}
	if !r.Exists(RoomKey(1, room)) {
		t.Fatal("the room vanished from the registry")
	}
	b, others, _ := r.enter(enterRequest{App: 1, UserID: "b", Room: room, Grant: g, Peer: &silentPeer{}})
	if b.Room != a.Room || len(others) != 1 || others[0].UserID != "a" {
		t.Fatalf("b joined another room object or does not see a: %+v", others)
	}
}

// TRTC wants one recordId per room: a member who brings another one is
// refused with 82; members without a recordId, or with the same, are not.
func TestOneRecordIDPerRoom(t *testing.T) {
	r := NewRegistry(20, 0)
	defer r.Close()
	g := &Grant{Privilege: tlssig.PrivAll}
	room := tlssig.Room{ID: 8}
	enter := func(user, recordID string) Code {
		_, _, e := r.enter(enterRequest{App: 1, UserID: user, Room: room, Grant: g, Record: RecordParams{RecordID: recordID}, Peer: &silentPeer{}})
		if e != nil {
			return e.Code
		}
		return CodeOK
	}
	for _, c := range []struct {
		user, recordID string
		code           Code
	}{{"a", "class-1", 0}, {"b", "", 0}, {"c", "class-1", 0}, {"d", "class-2", CodeParamCheckFailed}} {
		if code := enter(c.user, c.recordID); code != c.code {
			t.Fatalf("%s with recordId %q: code %d, want %d", c.user, c.recordID, code, c.code)
		}
	}
}

// lockCheckingPeer notes whether the registry's lock was free while it was
// told an event: a peer encodes the event for its client in Notify, which
// takes time for a large message, and that must not hold up every join
// and leave on the node.
type lockCheckingPeer struct {
	silentPeer
	r    *Registry
	free chan bool
}

func (p *lockCheckingPeer) Notify(Event) {
	free := p.r.mu.TryLock()
	if free {
		p.r.mu.Unlock()
	}
	p.free <- free
}

// A broadcast tells each member without holding the registry's lock.
func TestBroadcastTellsMembersOutsideTheRegistrysLock(t *testing.T) {
	r := NewRegistry(20, 0)
	defer r.Close()
	g := &Grant{Privilege: tlssig.PrivAll}
	room := tlssig.Room{ID: 9}
	p := &lockCheckingPeer{r: r, free: make(chan bool, 1)}
	if _, _, e := r.enter(enterRequest{App: 1, UserID: "a", Room: room, Grant: g, Peer: p}); e != nil {
		t.Fatal(e)
	}
	r.Broadcast(RoomKey(1, room), Event{Name: "message"})
	if !<-p.free {
		t.Fatal("Broadcast held the registry's lock while it told the member")
	}
}

type countingPeer struct {
	silentPeer
	events map[string]int
}

func (p *countingPeer) Notify(ev Event) { p.events[ev.Name]++ }

// A mute request that changes nothing tells nobody: a client repeating its
// state would otherwise send every member (and every node) a message each.
func TestARepeatedMuteTellsNobody(t *testing.T) {
	r := NewRegistry(20, 0)
	defer r.Close()
	g := &Grant{Privilege: tlssig.PrivAll}
	room := tlssig.Room{ID: 10}
	watcher := &countingPeer{events: map[string]int{}}
	if _, _, e := r.enter(enterRequest{App: 1, UserID: "w", Room: room, Grant: g, Peer: watcher}); e != nil {
		t.Fatal(e)
	}
	m, _, e := r.enter(enterRequest{App: 1, UserID: "m", Room: room, Grant: g, Peer: &silentPeer{}})
	if e != nil {
		t.Fatal(e)
	}
	for range 5 {
		r.Mute(m, true, false)
	}
	r.Mute(m, false, false)
	if got := watcher.events[EventMute]; got != 2 {
		t.Fatalf("the other member was told %d mute events, want 2 (one per change)", got)
	}
}
