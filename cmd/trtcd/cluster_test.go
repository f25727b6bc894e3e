package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/testredis"
	"github.com/trtcd/trtcd/internal/testws"
	"github.com/trtcd/trtcd/signaling/tlssig"
)

// startNodes runs one `trtcd serve` per node id, all on one Redis, with
// certificates from one `trtcd cluster init`.
func startNodes(t *testing.T, redisURL string, app uint32, key string, ids ...string) map[string]*runningServer {
	t.Helper()
	certs := filepath.Join(t.TempDir(), "certs")
	if err := cluster.InitDir(certs, ids...); err != nil {
		t.Fatal(err)
	}
	nodes := map[string]*runningServer{}
	for _, id := range ids {
		data := filepath.Join(t.TempDir(), id)
		for _, f := range []string{"ca.pem", id + ".pem", id + "-key.pem"} {
			copyInto(t, filepath.Join(certs, f), filepath.Join(data, "cluster", f))
		}
		nodes[id] = startServe(t, "--data", data, "--app", fmt.Sprintf("%d:%s", app, key),
			"--redis", redisURL, "--node-id", id, "--relay", "127.0.0.1:0")
	}
	return nodes
}

func copyInto(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err == nil {
		if err = os.MkdirAll(filepath.Dir(to), 0o700); err == nil {
			err = os.WriteFile(to, b, 0o600)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// kill -9 a node mid-call: the members on the other node are told once
// that its member left, and the directory forgets the node by itself.
func TestAKilledNodesMembersLeaveTheOthersOnce(t *testing.T) {
	const app, key = 1400000001, "cluster-kill9-key"
	redisURL := testredis.Start(t)
	nodes := startNodes(t, redisURL, app, key, "a", "b")
	sig := func(user string) string { return tlssig.GenUserSig(key, app, user, time.Hour, time.Now()) }
	time.Sleep(500 * time.Millisecond) // both on the bus

	alice := testws.Join(t, nodes["a"].addr, app, "alice", sig("alice"), 5150)
	bob := testws.Join(t, nodes["b"].addr, app, "bob", sig("bob"), 5150)
	if bob.Members() != "alice" {
		t.Fatalf("bob's join on b listed %q", bob.Members())
	}
	alice.Expect("member-join bob", 5*time.Second)

	killed := time.Now()
	nodes["b"].cmd.Process.Kill()
	nodes["b"].cmd.Wait()
	alice.Expect("member-quit bob disconnect", 10*time.Second)
	t.Logf("member-quit %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	alice.Quiet(3 * time.Second) // once

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
