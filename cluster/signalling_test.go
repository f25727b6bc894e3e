package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/internal/testredis"
	"github.com/trtcd/trtcd/internal/testws"
	"github.com/trtcd/trtcd/server"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

func joinWS(t *testing.T, srv *server.Server, user string) *testws.Member {
	return testws.Join(t, srv.HTTPAddr().String(), app, user, userSig(user), 5150)
}

// Members of one room on two nodes see each other come and go, and a user
// who signs in on the other node takes over from its older session.
func TestRoomEventsCrossNodes(t *testing.T) {
	a, b, redisURL := startTwoNodesOnRedis(t)
	bus := testredis.Subscribe(t, redisURL, cluster.BusChannel)
	const within = 5 * time.Second

	alice := joinWS(t, a, "alice")
	// bob's join below lists alice and takes her room's UUID only once B
	// has heard of her join over the bus. B hears it when this test does
	// (one Redis, one publish), long before bob's join has gone through.
	bus.WaitFor(t, "A's word of alice's join", within, func(msg string) bool { return strings.Contains(msg, `"alice"`) })
	bus.Close()
	bob := joinWS(t, b, "bob")
	if got := bob.Members(); got != "alice" {
		t.Fatalf("bob's join on B listed %q, want alice (on A)", got)
	}
	alice.Expect("member-join bob", within)
	if a, b := alice.Joined["roomUUID"], bob.Joined["roomUUID"]; a != b || a == "" {
		t.Errorf("the room's UUID is %v on A and %v on B, want one", a, b)
	}

	// alice signs in again, on B: the session on A is told and closed.
	joinWS(t, b, "alice")
	alice.Expect(fmt.Sprintf("force-offline %d", trtc.CodeForceOffline), within)
	bob.Expect("member-quit alice replaced", within)
	bob.Expect("member-join alice", within)

	// bob leaves: carol, on A, hears it.
	carol := joinWS(t, a, "carol")
	if got := strings.Split(carol.Members(), ","); len(got) != 2 {
		t.Fatalf("carol's join on A listed %v, want bob and alice (on B)", got)
	}
	bob.Send(map[string]any{"id": 2, "type": "leave"})
	carol.Expect("member-quit bob leave", within)
	carol.Quiet(500 * time.Millisecond)
}

// locateRoom asks a node's REST API where a room's next member should go.
func locateRoom(t *testing.T, srv *server.Server, room int) map[string]any {
	t.Helper()
	url := fmt.Sprintf("http://%s/v4/trtcd/locate_room?sdkappid=%d&identifier=administrator&usersig=%s&contenttype=json",
		srv.HTTPAddr(), app, userSig("administrator"))
	resp, err := http.Post(url, "application/json", strings.NewReader(fmt.Sprintf(`{"roomId": %d}`, room)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply map[string]any
	json.NewDecoder(resp.Body).Decode(&reply)
	return reply
}

// Placement: a room that lives on a node is placed there, whichever node
// is asked; a new room goes to a node of the cluster.
func TestRoomsArePlacedWhereTheyLive(t *testing.T) {
	a, b, redisURL := startTwoNodesOnRedis(t)
	dir, err := cluster.NewDirectory(redisURL, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	joinWS(t, b, "bob") // room 5150 lives on B
	// Wait for the directory itself: locate_room answers node-b by chance
	// too, placing a room it does not know yet on the least-loaded node.
	room := trtc.RoomKey(app, tlssig.Room{ID: 5150})
	testpeer.WaitFor(t, "B's heartbeat to list room 5150", 5*time.Second, func() bool {
		nodes, _ := dir.RoomNodes(context.Background(), room)
		return slices.Contains(nodes, "node-b")
	})
	if got := locateRoom(t, a, 5150); got["http"] != b.HTTPAddr().String() || got["cluster"] != true {
		t.Fatalf("room 5150 from A: %v, want node-b at %s", got, b.HTTPAddr())
	}
	if got := locateRoom(t, b, 5150)["node"]; got != "node-b" {
		t.Fatalf("room 5150 from B: %v", got)
	}
	if got := locateRoom(t, a, 9999)["node"]; got != "node-a" && got != "node-b" {
		t.Fatalf("a new room was placed on %v", got)
	}
}
