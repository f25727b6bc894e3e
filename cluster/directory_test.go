package cluster

import (
	"context"
	"slices"
	"testing"
	"time"
)

func newTestDirectory(t *testing.T, ttl time.Duration) *Directory {
	t.Helper()
	d, err := NewDirectory(StartRedis(t), ttl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestANodeThatStopsHeartbeatingVanishesWithItsRoomsAndTracks(t *testing.T) {
	ctx := context.Background()
	d := newTestDirectory(t, 500*time.Millisecond)
	pub := Publication{Room: "1400000001/42", User: "alice", Kind: "video"}
	for _, id := range []string{"a", "b"} {
		if err := d.Heartbeat(ctx, NodeInfo{ID: id, Relay: "127.0.0.1:1"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Announce(ctx, "a", []string{pub.Room}, []Publication{pub}); err != nil {
		t.Fatal(err)
	}
	if nodes, _ := d.Nodes(ctx); len(nodes) != 2 {
		t.Fatalf("nodes = %v, want a and b", nodes)
	}
	if pubs, _ := d.Publications(ctx, pub.Room); len(pubs) != 1 || pubs[0].Node != "a" || pubs[0].User != "alice" {
		t.Fatalf("publications = %v", pubs)
	}
	// b keeps beating, a does not: a goes, with its rooms and tracks, and
	// b stays, past two TTLs. Polled, each check right after b's beat: on
	// a loaded machine a fixed wait could outlast b's TTL too.
	start := time.Now()
	deadline := start.Add(5 * time.Second)
	for {
		if err := d.Heartbeat(ctx, NodeInfo{ID: "b"}); err != nil {
			t.Fatal(err)
		}
		nodes, err := d.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pubs, _ := d.Publications(ctx, pub.Room)
		rn, _ := d.RoomNodes(ctx, pub.Room)
		_, aLives, _ := d.Node(ctx, "a")
		gone := len(pubs) == 0 && len(rn) == 0 && !aLives
		if len(nodes) == 1 && nodes[0].ID == "b" && gone && time.Since(start) > 1200*time.Millisecond {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 TTLs after a went silent: nodes %v (want only b), a's publications %v, room nodes %v, a's record there: %v",
				nodes, pubs, rn, aLives)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestEveryDirectoryKeyHasATTL(t *testing.T) {
	ctx := context.Background()
	d := newTestDirectory(t, 5*time.Second)
	d.Heartbeat(ctx, NodeInfo{ID: "a"})
	d.Announce(ctx, "a", []string{"r"}, []Publication{{Room: "r", User: "u", Kind: "audio"}})
	d.ClaimUser(ctx, "1/u", "a")
	d.ClaimRecord(ctx, "rec-1", "a")
	keys, err := d.rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 7 {
		t.Fatalf("expected node, nodes, room nodes, pubs, rooms, user and record keys; got %v", keys)
	}
	for _, k := range keys {
		if ttl := d.rdb.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("key %s has no TTL (%v)", k, ttl)
		}
	}
}

func TestADuplicateLoginOnAnotherNodeIsVisible(t *testing.T) {
	ctx := context.Background()
	d := newTestDirectory(t, time.Second)
	if prev, err := d.ClaimUser(ctx, "1400000001/alice", "a"); err != nil || prev != "" {
		t.Fatalf("first login: previous %q, %v", prev, err)
	}
	prev, err := d.ClaimUser(ctx, "1400000001/alice", "b")
	if err != nil || prev != "a" {
		t.Fatalf("second login on b: previous %q (want a), %v", prev, err)
	}
	// a, kicked, cannot delete or renew b's claim.
	d.ReleaseUser(ctx, "1400000001/alice", "a")
	d.RenewOwned(ctx, "a", []string{"1400000001/alice"}, nil)
	if n, _ := d.UserNode(ctx, "1400000001/alice"); n != "b" {
		t.Fatalf("user is on %q, want b", n)
	}
	d.ReleaseUser(ctx, "1400000001/alice", "b")
	if n, _ := d.UserNode(ctx, "1400000001/alice"); n != "" {
		t.Fatalf("released user still on %q", n)
	}
}

func TestARecordIDHasOneRecordingNodeUntilItsOwnerGoes(t *testing.T) {
	ctx := context.Background()
	// A TTL well above the renewal period: a loaded machine may stretch
	// the period, and a renewal that comes too late is a different test.
	d := newTestDirectory(t, time.Second)
	if owner, _ := d.ClaimRecord(ctx, "rec-7", "a"); owner != "a" {
		t.Fatalf("owner = %q, want a", owner)
	}
	for range 5 { // a renews: b cannot take over
		time.Sleep(300 * time.Millisecond)
		d.RenewOwned(ctx, "a", nil, []string{"rec-7"})
		if owner, _ := d.ClaimRecord(ctx, "rec-7", "b"); owner != "a" {
			t.Fatalf("owner = %q while a renews, want a", owner)
		}
	}
	// a stops renewing: b takes over once the TTL has passed.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		owner, err := d.ClaimRecord(ctx, "rec-7", "b")
		if owner == "b" {
			break
		}
		if owner != "a" || time.Now().After(deadline) {
			t.Fatalf("owner = %q (%v) after a went silent, want a until its TTL passed, then b", owner, err)
		}
	}
	d.RenewOwned(ctx, "a", nil, []string{"rec-7"}) // a is back: b keeps it
	if owner, _ := d.ClaimRecord(ctx, "rec-7", "a"); owner != "b" {
		t.Fatalf("owner = %q after a renewed what b took over, want b", owner)
	}
	d.rdb.FlushAll(ctx) // Redis restarted empty: b, recording, holds it again
	d.RenewOwned(ctx, "b", nil, []string{"rec-7"})
	if owner, _ := d.ClaimRecord(ctx, "rec-7", "a"); owner != "b" {
		t.Fatalf("owner = %q after b renewed in an empty Redis, want b", owner)
	}
}

func TestLeastLoadedNodeIsPickedForANewRoom(t *testing.T) {
	ctx := context.Background()
	d := newTestDirectory(t, time.Second)
	d.Heartbeat(ctx, NodeInfo{ID: "busy", Streams: 9, Rooms: 3})
	d.Heartbeat(ctx, NodeInfo{ID: "idle", Streams: 1, Rooms: 1})
	n, ok, err := d.LeastLoaded(ctx)
	if err != nil || !ok || n.ID != "idle" {
		t.Fatalf("least loaded = %v %v %v", n, ok, err)
	}
	ids := []string{}
	nodes, _ := d.Nodes(ctx)
	for _, n := range nodes {
		ids = append(ids, n.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"busy", "idle"}) {
		t.Fatalf("nodes = %v", ids)
	}
}
