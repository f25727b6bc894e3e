package trtc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trtcd/trtcd/trtc/tlssig"
)

// bus connects registries as the cluster does: each node's events reach the
// others in order, when the test flushes (outside every registry's lock).
type bus struct {
	nodes   map[string]*Registry
	pending []RemoteEvent
	down    bool // events are lost (a Redis outage)
}

func federated(t *testing.T, ids ...string) (*bus, map[string]*Registry) {
	b := &bus{nodes: map[string]*Registry{}}
	for _, id := range ids {
		r := NewRegistry(20, 0)
		t.Cleanup(r.Close)
		r.JoinCluster(testCluster{node: id, send: func(ev RemoteEvent) {
			if !b.down {
				b.pending = append(b.pending, ev)
			}
		}}, nil)
		b.nodes[id] = r
	}
	return b, b.nodes
}

func (b *bus) flush() {
	for len(b.pending) > 0 {
		ev := b.pending[0]
		b.pending = b.pending[1:]
		for _, r := range b.nodes {
			r.ApplyRemote(ev)
		}
	}
}

// eventPeer records what a member is told.
type eventPeer struct {
	mu     sync.Mutex
	events []string
	kicks  []Code
}

func (p *eventPeer) Notify(ev Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := ev.Name
	switch d := ev.Data.(type) {
	case memberEvent:
		s += " " + d.UserID
		if d.Reason != "" {
			s += " " + d.Reason
		}
	case map[string]string:
		s += " " + d["userId"] + " " + d["kind"]
	case MemberInfo:
		s += fmt.Sprintf(" %s audioMuted=%v", d.UserID, d.AudioMuted)
	}
	p.events = append(p.events, s)
}

func (p *eventPeer) Kick(e *Error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.kicks = append(p.kicks, e.Code)
}

func (p *eventPeer) take() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := strings.Join(p.events, ", ")
	p.events = nil
	return s
}

func enterAs(t *testing.T, r *Registry, user, template string) (*Member, []MemberInfo, *eventPeer) {
	t.Helper()
	p := &eventPeer{}
	m, others, e := r.enter(enterRequest{App: 1, UserID: user, Room: tlssig.Room{ID: 9}, Template: template,
		Grant: &Grant{Privilege: tlssig.PrivAll}, Peer: p})
	if e != nil {
		t.Fatalf("%s: %v", user, e)
	}
	return m, others, p
}

func names(infos []MemberInfo) string {
	var s []string
	for _, i := range infos {
		s = append(s, i.UserID)
	}
	return strings.Join(s, ",")
}

func TestRoomEventsReachMembersOnOtherNodes(t *testing.T) {
	b, nodes := federated(t, "a", "b")
	alice, _, pa := enterAs(t, nodes["a"], "alice", "")
	b.flush()
	_, others, pb := enterAs(t, nodes["b"], "bob", "")
	b.flush()
	if names(others) != "alice" {
		t.Fatalf("bob's join listed %q, want alice on the other node", names(others))
	}
	if got := pa.take(); got != "member-join bob" {
		t.Fatalf("alice was told %q", got)
	}
	nodes["a"].Streams(alice.Room.Key, "alice", "video", true)
	nodes["a"].Mute(alice, true, false)
	b.flush()
	if got := pb.take(); got != "stream-add alice video, mute alice audioMuted=true" {
		t.Fatalf("bob was told %q", got)
	}
	if ms := nodes["b"].Members(alice); len(ms) != 2 {
		t.Fatalf("members on b: %+v", ms)
	}
	nodes["a"].Leave(alice, "leave")
	b.flush()
	if got := pb.take(); got != "member-quit alice leave" {
		t.Fatalf("bob was told %q", got)
	}
}

func TestADuplicateLoginOnAnotherNodeReplacesTheOlderSession(t *testing.T) {
	b, nodes := federated(t, "a", "b")
	_, _, pCarol := enterAs(t, nodes["a"], "carol", "")
	_, _, pOld := enterAs(t, nodes["a"], "alice", "")
	b.flush()
	pCarol.take()
	time.Sleep(time.Millisecond) // the second session is the later one
	_, _, pNew := enterAs(t, nodes["b"], "alice", "")
	b.flush()
	if len(pOld.kicks) != 1 || pOld.kicks[0] != CodeForceOffline {
		t.Fatalf("the older session got kicks %v, want one force-offline", pOld.kicks)
	}
	if len(pNew.kicks) != 0 {
		t.Fatalf("the newer session was kicked: %v", pNew.kicks)
	}
	if got := pCarol.take(); got != "member-quit alice replaced, member-join alice" {
		t.Fatalf("carol was told %q", got)
	}
	if ms := nodes["b"].Members(&Member{Room: &Room{Key: RoomKey(1, tlssig.Room{ID: 9})}}); names(ms) != "carol" {
		t.Fatalf("node b sees %q as the others", names(ms))
	}
}

func TestAOneToOneRoomIsFullAcrossNodes(t *testing.T) {
	b, nodes := federated(t, "a", "b")
	enterAs(t, nodes["a"], "alice", "1v1bigsmall")
	b.flush()
	enterAs(t, nodes["b"], "bob", "1v1bigsmall")
	b.flush()
	_, _, e := nodes["a"].enter(enterRequest{App: 1, UserID: "carol", Room: tlssig.Room{ID: 9}, Grant: &Grant{Privilege: tlssig.PrivAll}, Peer: &eventPeer{}})
	if e == nil || e.Code != CodeRoomFull {
		t.Fatalf("a third member on a: %v, want room full", e)
	}
}

// Events lost while the bus was down are made good by the next roster; a
// node that goes silent loses its members everywhere, once.
func TestRostersRepairLostEventsAndSilentNodesLeave(t *testing.T) {
	b, nodes := federated(t, "a", "b")
	_, _, pa := enterAs(t, nodes["a"], "alice", "")
	b.flush()
	b.down = true
	bob, _, _ := enterAs(t, nodes["b"], "bob", "")
	dave, _, _ := enterAs(t, nodes["b"], "dave", "")
	nodes["b"].Leave(dave, "leave")
	b.down = false
	if got := pa.take(); got != "" {
		t.Fatalf("alice heard %q while the bus was down", got)
	}
	nodes["a"].ApplyRemote(nodes["b"].Roster())
	if got := pa.take(); got != "member-join bob" {
		t.Fatalf("after b's roster alice was told %q", got)
	}
	nodes["b"].Streams(bob.Room.Key, "bob", "audio", true)
	b.flush()
	pa.take()
	nodes["a"].ExpireNodes(time.Now().Add(time.Second)) // b has been silent since
	nodes["a"].ExpireNodes(time.Now().Add(time.Second))
	if got := pa.take(); got != "member-quit bob disconnect" {
		t.Fatalf("after b went silent alice was told %q", got)
	}
}

// The application server's kick and close, asked of one node, reach the
// members on the others.
func TestKickAndCloseReachOtherNodes(t *testing.T) {
	b, nodes := federated(t, "a", "b")
	_, _, pa := enterAs(t, nodes["a"], "alice", "")
	_, _, pb := enterAs(t, nodes["b"], "bob", "")
	_, _, pc := enterAs(t, nodes["b"], "carol", "")
	b.flush()
	key := RoomKey(1, tlssig.Room{ID: 9})
	if !nodes["a"].KickRemote(1, "bob", key) {
		t.Fatal("node a does not know bob on b")
	}
	b.flush()
	if len(pb.kicks) != 1 || pb.kicks[0] != CodeKicked {
		t.Fatalf("bob got kicks %v, want one kick (%d)", pb.kicks, CodeKicked)
	}
	if nodes["a"].KickRemote(1, "nobody", key) {
		t.Fatal("a kick of an unknown user was sent")
	}
	pa.take()
	if !nodes["a"].CloseRemote(key) {
		t.Fatal("node a knows no member of the room elsewhere")
	}
	b.flush()
	if len(pc.kicks) != 1 || pc.kicks[0] != CodeRoomClosed {
		t.Fatalf("carol got kicks %v, want the room closed", pc.kicks)
	}
	if got := pa.take(); got != "member-quit carol room-closed" {
		t.Fatalf("alice was told %q", got)
	}
}

func TestSplitRoomKeyUndoesRoomKey(t *testing.T) {
	for _, id := range []tlssig.Room{{ID: 7400}, {Str: "class-1/a"}} {
		app, room, ok := splitRoomKey(RoomKey(1400000001, id))
		want := id.Str
		if !id.IsString() {
			want = id.String()
		}
		if !ok || app != 1400000001 || room != want {
			t.Errorf("splitRoomKey(RoomKey(%v)) = %d %q %v", id, app, room, ok)
		}
	}
	if _, _, ok := splitRoomKey("no-app"); ok {
		t.Error("a key without an app was split")
	}
}

func TestStringRoomIDsTakeTRTCsCharactersOnly(t *testing.T) {
	for s, ok := range map[string]bool{"class_2024-A": true, "a b:c{d}|e~,": true, "line\nbreak": false, "slash/x": false, "中文": false} {
		if _, e := ParseRoom("", s); (e == nil) != ok {
			t.Errorf("strRoomId %q: error %v, want accepted %v", s, e, ok)
		}
	}
}

// fakeRecorder records who it was asked to record.
type fakeRecorder struct{ started []string }

func (f *fakeRecorder) Start(req RecordRequest) error {
	f.started = append(f.started, req.RoomKey+" "+req.UserID+" "+req.RecordID)
	return nil
}
func (f *fakeRecorder) Records(id string) bool { return len(f.started) > 0 }
func (f *fakeRecorder) Recording(room, user string) bool {
	return slices.Contains(f.started, room+" "+user+" rec-9")
}

// A member publishing with a recordId another node records is not
// recorded here until that node stops holding it; then the heartbeat's
// RecordUnclaimed starts it, once.
func TestAnOrphanedRecordIDIsRecordedByTheNextNodeThatClaimsIt(t *testing.T) {
	r := NewRegistry(20, 0)
	rec, free := &fakeRecorder{}, false
	r.JoinCluster(testCluster{node: "a", claim: func(string) bool { return free }}, rec)
	m, _, e := r.enter(enterRequest{App: 1, UserID: "eve", Room: tlssig.Room{ID: 9}, Grant: &Grant{Privilege: tlssig.PrivAll},
		Peer: &eventPeer{}, Record: RecordParams{RecordID: "rec-9"}})
	if e != nil {
		t.Fatal(e)
	}
	r.Streams(m.Room.Key, "eve", "video", true)
	StartRecording(rec, r, m, nil)
	r.RecordUnclaimed(nil)
	if len(rec.started) != 0 {
		t.Fatalf("recorded %v while another node holds rec-9", rec.started)
	}
	free = true // the recording node stopped
	r.RecordUnclaimed(nil)
	r.RecordUnclaimed(nil)
	if want := []string{"1/9 eve rec-9"}; !slices.Equal(rec.started, want) {
		t.Fatalf("recorded %v, want %v", rec.started, want)
	}
}

// testCluster is a cluster link with what a test sets: events go to send,
// recordIds are claimed by claim (all of them without one), publishers are
// always fetched and no room is placed.
type testCluster struct {
	node  string
	send  func(RemoteEvent)
	claim func(recordID string) bool
}

func (c testCluster) Node() string { return c.node }

func (c testCluster) Send(ev RemoteEvent) {
	if c.send != nil {
		c.send(ev)
	}
}

func (testCluster) Fetch(context.Context, string, string) error { return nil }

func (testCluster) Place(context.Context, string) (Placement, error) {
	return Placement{}, errors.New("no placement in this test")
}

func (c testCluster) ClaimRecord(recordID string) bool { return c.claim == nil || c.claim(recordID) }
