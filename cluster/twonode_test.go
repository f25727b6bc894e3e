package cluster_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/internal/testredis"
	"github.com/trtcd/trtcd/internal/testserver"
	"github.com/trtcd/trtcd/internal/wayin"
	"github.com/trtcd/trtcd/server"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

const (
	app    = 1400000001
	appKey = "c1d2e3f405162738495a6b7c8d9eafb0c1d2e3f405162738495a6b7c8d9eafb0"
)

// clusterCA issues the test nodes' certificates.
var clusterCA = func() *cluster.CA {
	ca, err := cluster.NewCA()
	if err != nil {
		panic(err)
	}
	return ca
}()

// startTwoNodes starts a Redis and nodes node-a and node-b on it, and
// returns once both listen on the bus: what one node says before the
// other listens is lost, and how long subscribing takes depends on the
// machine's load.
func startTwoNodes(t *testing.T) (a, b *server.Server) {
	t.Helper()
	a, b, _ = startTwoNodesOnRedis(t)
	return a, b
}

// startTwoNodesOnRedis is startTwoNodes, also returning the Redis URL.
func startTwoNodesOnRedis(t *testing.T) (a, b *server.Server, redisURL string) {
	t.Helper()
	redisURL = cluster.StartRedis(t)
	a, b = startNode(t, redisURL, "node-a"), startNode(t, redisURL, "node-b")
	testredis.WaitSubscribers(t, redisURL, cluster.BusChannel, 2)
	return a, b, redisURL
}

func startNode(t *testing.T, redisURL, id string) *server.Server {
	return startNodeWith(t, redisURL, id, nil)
}

// startNodeWith starts node id of a cluster on redisURL, with change
// applied to its configuration.
func startNodeWith(t *testing.T, redisURL, id string, change func(*server.Config)) *server.Server {
	t.Helper()
	creds, err := clusterCA.Credentials(id)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testserver.Config(t, app, appKey)
	cfg.RTMPAddr, cfg.Bitrate, cfg.Version = "", wayin.DefaultBitrateLimits, "cluster-test"
	cfg.Logger = cfg.Logger.With("node", id)
	cfg.Cluster = server.ClusterConfig{RedisURL: redisURL, NodeID: id, RelayAddr: "127.0.0.1:0", Credentials: creds,
		Heartbeat: 200 * time.Millisecond, TTL: time.Second}
	if change != nil {
		change(&cfg)
	}
	return testserver.Start(t, cfg)
}

func userSig(user string) string { return tlssig.GenUserSig(appKey, app, user, time.Hour, time.Now()) }

// post sends an SDP offer with user's userSig.
func post(t *testing.T, url, user string, pc *webrtc.PeerConnection) (answer, location string, status int) {
	t.Helper()
	return testpeer.PostSDP(t, url, userSig(user), pc)
}

func TestAWHIPPublisherOnNodeAIsWatchedOverWHEPOnNodeB(t *testing.T) {
	a, b := startTwoNodes(t)
	baseA := "http://" + a.HTTPAddr().String()
	got, whipSession := watchAcross(t, a, b, "4711")
	defer func() {
		g1, _, _ := got["audio"].Delivery()
		g2, _, _ := got["video"].Delivery()
		t.Logf("audio %d video %d, B relays %v, in/out %v", g1, g2, b.Cluster().Relays(), fmt.Sprint(b.Cluster().RelayedPackets()))
	}()
	// A viewer with a forged userSig is refused on B exactly as on A.
	for _, base := range []string{baseA, "http://" + b.HTTPAddr().String()} {
		req, _ := http.NewRequest("POST", base+"/whep/"+fmt.Sprint(app)+"/4711/alice?userId=mallory", strings.NewReader("v=0"))
		req.Header.Set("Authorization", "Bearer forged")
		req.Header.Set("Content-Type", "application/sdp")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"code":70346`) {
			t.Errorf("forged userSig on %s: %d %s, want 401 with 70346", base, resp.StatusCode, body)
		}
	}
	time.Sleep(8 * time.Second)
	for kind, s := range got {
		n, span, ratio := s.Delivery()
		t.Logf("%s (%s): %d of %d packets (%.2f%%)", kind, s.Codec(), n, span, 100*ratio)
		if ratio < 0.99 {
			t.Errorf("%s delivery %.2f%% < 99%%", kind, 100*ratio)
		}
	}
	if n, _, _ := got["audio"].Delivery(); n < 300 { // 50 packets a second for 8 s
		t.Errorf("only %d audio packets in 8 s", n)
	}
	if n, _, _ := got["video"].Delivery(); n < 200 {
		t.Errorf("only %d video packets in 8 s", n)
	}
	if c := got["video"].Codec(); c != webrtc.MimeTypeH264 {
		t.Errorf("video codec %q, want H264", c)
	}
	if relays := b.Cluster().Relays(); len(relays) != 1 {
		t.Errorf("B relays %v, want alice only", relays)
	}
	in, _ := b.Cluster().RelayedPackets()
	_, out := a.Cluster().RelayedPackets()
	t.Logf("relayed: A sent %d, B received %d", out, in)
	// The directory shows each node's load: alice's media in and out of A.
	if info, ok, err := a.Cluster().Directory().Node(context.Background(), "node-a"); !ok || err != nil ||
		info.Bitrate < 100_000 || info.CPU <= 0 {
		t.Errorf("node-a's record: %+v (%v): want its media bitrate and CPU", info, err)
	}

	// alice leaves: B stops relaying her and the directory forgets her.
	req, _ := http.NewRequest("DELETE", baseA+whipSession, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	testpeer.WaitFor(t, "B to end alice's relayed tracks", 5*time.Second, func() bool {
		return len(b.Cluster().Relays()) == 0
	})
	pubs, err := a.Cluster().Directory().Publications(context.Background(), trtc.RoomKey(app, tlssig.Room{ID: 4711}))
	if err != nil || len(pubs) != 0 {
		t.Errorf("directory still lists %v (%v)", pubs, err)
	}
}
