package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/testcluster"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/internal/testredis"
	"github.com/trtcd/trtcd/internal/testws"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// startNodes runs one `trtcd serve` per node id, all on one Redis, with
// certificates from one `trtcd cluster init`.
func startNodes(t *testing.T, redisURL string, app uint32, key string, ids ...string) map[string]*runningServer {
	t.Helper()
	nodes := map[string]*runningServer{}
	for i, data := range testcluster.DataDirs(t, t.TempDir(), ids...) {
		flags := append(testcluster.ServeFlags(redisURL, ids[i]), "--data", data, "--app", fmt.Sprintf("%d:%s", app, key))
		nodes[ids[i]] = startServe(t, flags...)
	}
	return nodes
}

// Two `trtcd serve` nodes: a publisher on a is played on b for 30 s with
// at least 99.5 % of its packets; then b is killed with -9 mid-call: a's
// members are told once that b's member left, b's viewer rejoins on a and
// plays again within 5 s, and the directory forgets b by itself.
func TestAcrossTwoNodesAndAfterOneIsKilled(t *testing.T) {
	const app, key = 1400000001, "cluster-kill9-key"
	redisURL := testredis.Start(t)
	nodes := startNodes(t, redisURL, app, key, "a", "b")
	sig := func(user string) string { return tlssig.GenUserSig(key, app, user, time.Hour, time.Now()) }
	const busChannel = "trtcd:events" // package cluster's
	testredis.WaitSubscribers(t, redisURL, busChannel, 2)
	bus := testredis.Subscribe(t, redisURL, busChannel)

	carol := testws.Join(t, nodes["a"].addr, app, "carol", sig("carol"), 5150)
	// bob's join lists carol once b has heard of her over the bus, which b
	// does when this test does (one Redis, one publish).
	bus.WaitFor(t, "a's word of carol's join", 5*time.Second, func(msg string) bool { return strings.Contains(msg, `"carol"`) })
	bus.Close()
	bob := testws.Join(t, nodes["b"].addr, app, "bob", sig("bob"), 5150)
	if bob.Members() != "carol" {
		t.Fatalf("bob's join on b listed %q", bob.Members())
	}
	carol.Expect("member-join bob", 5*time.Second)

	testpeer.PublishWHIP(t, fmt.Sprintf("http://%s/whip/%d/5150/alice", nodes["a"].addr, app), sig("alice"), 600)
	// A publisher's tracks arrive on their own (on b, over the bus too):
	// nothing orders audio before video.
	carol.ExpectAll(5*time.Second, "member-join alice", "stream-add alice audio", "stream-add alice video")
	// dave publishes on b: each node's viewer plays the other node's publisher.
	testpeer.PublishWHIP(t, fmt.Sprintf("http://%s/whip/%d/5150/dave", nodes["b"].addr, app), sig("dave"), 600)
	carol.ExpectAll(5*time.Second, "member-join dave", "stream-add dave audio", "stream-add dave video")
	whep := "http://%s/whep/1400000001/5150/alice?userId=viewer"
	got := map[string]map[string]*testpeer.Seqs{
		"a → b": testpeer.WatchWHEP(t, fmt.Sprintf(whep, nodes["b"].addr), sig("viewer")),
		"b → a": testpeer.WatchWHEP(t, fmt.Sprintf("http://%s/whep/1400000001/5150/dave?userId=viewer2", nodes["a"].addr), sig("viewer2")),
	}
	time.Sleep(30 * time.Second)
	for way, kinds := range got {
		for kind, s := range kinds {
			n, span, ratio := s.Delivery()
			t.Logf("%s relayed %s for 30 s: %d of %d packets (%.2f%%)", kind, way, n, span, 100*ratio)
			if ratio < 0.995 {
				t.Errorf("%s %s delivery %.2f%% < 99.5%%", way, kind, 100*ratio)
			}
		}
	}

	killed := time.Now()
	nodes["b"].cmd.Process.Kill()
	nodes["b"].cmd.Wait()
	testpeer.WatchWHEP(t, fmt.Sprintf(whep, nodes["a"].addr), sig("viewer"))
	t.Logf("the viewer plays again on a %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	if d := time.Since(killed); d > 5*time.Second {
		t.Errorf("the viewer played again only %s after the kill, want within 5 s", d)
	}
	carol.ExpectAll(10*time.Second, "member-quit bob disconnect", "member-quit dave disconnect") // b's members, in either order
	t.Logf("member-quit %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	carol.Quiet(3 * time.Second) // once

	dir, err := cluster.NewDirectory(redisURL, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, found, err := dir.Node(context.Background(), "b")
		if err == nil && !found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the directory still holds node b %s after the kill (%v)", time.Since(killed), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
