package classroom

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// The tests inside the package drive Classrooms directly, with members
// that enter through the gate: app testApp, whose key is testKey.
const (
	testApp = 1
	testKey = "9d3c0f5e1b7a4c2d8e6f0a1b3c5d7e9f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c1d"
)

// testClasses are classrooms on a fresh store (synced to disk unless
// noSync), on a registry whose rooms hold capacity members (0: the
// default), with senders free of any rate limit; the gate enters members.
func testClasses(tb testing.TB, capacity int, noSync bool) (*Classrooms, *trtc.Gate) {
	tb.Helper()
	db, err := bolt.Open(filepath.Join(tb.TempDir(), "db"), 0o600, &bolt.Options{NoSync: noSync})
	if err != nil {
		tb.Fatal(err)
	}
	store, err := OpenStore(db)
	if err != nil {
		tb.Fatal(err)
	}
	apps, err := trtc.NewApps(trtc.App{SDKAppID: testApp, Key: testKey})
	if err != nil {
		tb.Fatal(err)
	}
	rooms := trtc.NewRegistry(capacity, 0)
	tb.Cleanup(func() { store.Close(); db.Close(); rooms.Close() })
	limits := DefaultLimits
	limits.MessagesPerSecond, limits.MessageBurst = 1e9, 1e9
	cs, err := Load(rooms, store, limits)
	if err != nil {
		tb.Fatal(err)
	}
	return cs, &trtc.Gate{Apps: apps, Rooms: rooms, Media: noMedia{}}
}

// noMedia is a media plane without rooms.
type noMedia struct{}

func (noMedia) HasRoom(string) bool { return false }

// enter makes user a member of room through the gate, reached at peer.
func enter(tb testing.TB, gate *trtc.Gate, user string, room tlssig.Room, peer trtc.Peer) *trtc.Member {
	tb.Helper()
	a, e := gate.Admit(context.Background(), trtc.Request{Intent: trtc.Enter, Peer: peer,
		Credentials: trtc.Credentials{SDKAppID: testApp, UserID: user, Room: room,
			UserSig: tlssig.GenUserSig(testKey, testApp, user, time.Hour, time.Now().Add(-time.Minute))}})
	if e != nil {
		tb.Fatal(e)
	}
	return a.Member
}

// eventPeer keeps the names of the events it is told, and the codes it is
// kicked with.
type eventPeer struct {
	mu     sync.Mutex
	events []string
	kicks  []trtc.Code
}

func (p *eventPeer) Notify(ev trtc.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, ev.Name)
}

func (p *eventPeer) Kick(e *trtc.Error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.kicks = append(p.kicks, e.Code)
}

// take returns the events told since the last take.
func (p *eventPeer) take() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := strings.Join(p.events, ", ")
	p.events = nil
	return s
}
