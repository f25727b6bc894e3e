package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A viewer's Want reads the one room it names from the directory, not
// every room: one per WHEP or FLV request, serialised node-wide, would
// queue the node's own reconciliation behind a client that asks for
// publishers that do not exist.
func TestAWantReadsOneRoom(t *testing.T) {
	ctx := context.Background()
	n := startTestNode(t, testCA(t), StartRedis(t), "a")
	var pubs []Publication
	for i := range 100 {
		pubs = append(pubs, Publication{Room: fmt.Sprintf("1/%d", i), User: "p", Kind: "audio"})
	}
	if err := n.dir.Announce(ctx, "b", nil, pubs); err != nil {
		t.Fatal(err)
	}
	commands := func() int {
		info, err := n.dir.rdb.Info(ctx, "stats").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "total_commands_processed:"); ok {
				c, _ := strconv.Atoi(v)
				return c
			}
		}
		t.Fatal("no total_commands_processed in INFO stats")
		return 0
	}
	before := commands()
	const wants = 50
	for i := range wants {
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		if ok, err := n.Want(wctx, "1/0", fmt.Sprint("ghost-", i)); ok || err != nil {
			t.Fatalf("want a publisher nobody publishes: %v %v", ok, err)
		}
		cancel()
	}
	// The node's own heartbeat and sync run meanwhile: a few hundred at most.
	if got := commands() - before; got > wants*6+400 {
		t.Fatalf("%d Wants in a directory of 100 rooms took %d Redis commands: a scan of every room each", wants, got)
	}
}
