package signaling

import (
	"testing"

	"github.com/trtcd/trtcd/signaling/tlssig"
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
	if _, _, e := r.Enter(EnterRequest{App: 1, UserID: "a", Room: room, Grant: g, Peer: first}); e != nil {
		t.Fatal(e)
	}
	a, _, e := r.Enter(EnterRequest{App: 1, UserID: "a", Room: room, Grant: g, Peer: &silentPeer{}})
	if e != nil {
		t.Fatal(e)
	}
	if first.kicked != 1 {
		t.Fatal("the first session was not kicked")
	}
	if !r.Exists(RoomKey(1, room)) {
		t.Fatal("the room vanished from the registry")
	}
	b, others, _ := r.Enter(EnterRequest{App: 1, UserID: "b", Room: room, Grant: g, Peer: &silentPeer{}})
	if b.Room != a.Room || len(others) != 1 || others[0].UserID != "a" {
		t.Fatalf("b joined another room object or does not see a: %+v", others)
	}
}
