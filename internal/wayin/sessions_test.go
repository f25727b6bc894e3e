package wayin

import (
	"errors"
	"fmt"
	"testing"

	"github.com/trtcd/trtcd/sfu"
)

// A member subscribes to at most as many publishers as its room has other
// members: a subscription names any publisher, and each is a
// PeerConnection. Replacing one, or ending one, leaves room as it was.
func TestSubscriptionsAreCappedAtTheRoomsOtherMembers(t *testing.T) {
	media, err := sfu.New(sfu.Config{Transport: sfu.TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer media.Close()
	n := 0
	session := func() *sfu.Session {
		n++
		s, err := media.Join("room", fmt.Sprintf("viewer-%d", n))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var m MediaSessions
	if err := m.SwapSubscription("a", session()); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("a subscription before the member entered: %v, want ErrNotOpen", err)
	}
	m.Open(3) // two other members
	for _, p := range []string{"a", "b", "a"} {
		if err := m.SwapSubscription(p, session()); err != nil {
			t.Fatalf("subscribing to %s: %v", p, err)
		}
	}
	if err := m.RoomFor("ghost"); !errors.Is(err, ErrTooManySubscriptions) {
		t.Fatalf("a third publisher in a room of three: %v, want ErrTooManySubscriptions", err)
	}
	extra := session()
	if err := m.SwapSubscription("ghost", extra); !errors.Is(err, ErrTooManySubscriptions) {
		t.Fatalf("installing a third: %v, want ErrTooManySubscriptions", err)
	}
	extra.Close()
	m.SwapSubscription("b", nil)
	if err := m.SwapSubscription("c", session()); err != nil {
		t.Fatalf("after unsubscribing b, subscribing to c: %v", err)
	}
	m.Take()()
}
