package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/testredis"
	"github.com/trtcd/trtcd/server"
)

// A live-pusher stand-in (ffmpeg) pushes RTMP to node A: a player on node B
// gets its H.264 and AAC over HTTP-FLV, and A, the node it pushes to,
// records it once.
func TestAnRTMPPushOnOneNodePlaysOverFLVOnAnotherAndIsRecorded(t *testing.T) {
	requireFFmpeg(t)
	cb := newCallbackReceiver(t)
	redisURL := testredis.Start(t)
	ca, err := cluster.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	node := func(id string) *server.Server {
		creds, err := ca.Credentials(id)
		if err != nil {
			t.Fatal(err)
		}
		return startTrtcdWith(t, func(c *server.Config) {
			c.Record = server.RecordConfig{CallbackURL: cb.URL, CallbackKey: callbackKey, ResumeWindow: 2 * time.Second}
			c.Cluster = server.ClusterConfig{RedisURL: redisURL, NodeID: id, RelayAddr: "127.0.0.1:0", Credentials: creds,
				Heartbeat: 200 * time.Millisecond, TTL: time.Second}
		})
	}
	a, b := node("a"), node("b")
	startFFmpeg(t, pushArgs(pushURL(a.RTMPAddr().String(), "7400", "dora", "&recordid=rec-cluster"), "12")...)
	time.Sleep(4 * time.Second) // the push is up and in the directory

	flv := fmt.Sprintf("http://%s/live/%d_7400_dora_main.flv?userid=viewer&usersig=%s", b.HTTPAddr(), app, userSig("viewer"))
	if got := ffprobeStreams(t, flv); got != "h264,aac" && got != "aac,h264" {
		t.Fatalf("FLV on B has streams %q, want h264 and aac", got)
	}

	got := cb.forRecord(t, "rec-cluster", 30*time.Second)
	checkSign(t, got)
	if !strings.Contains(got.VideoURL, a.HTTPAddr().String()) {
		t.Fatalf("the recording is served from %s, want node A (%s), where dora pushed", got.VideoURL, a.HTTPAddr())
	}
	p := probeFile(t, download(t, got.VideoURL, t.TempDir()))
	if d := p.duration(); d < 11.3 || d > 12.7 || len(p.Streams) != 2 {
		t.Fatalf("the recording lasts %.2f s with streams %+v, want 12 s of h264 and aac", d, p.Streams)
	}
	time.Sleep(time.Second)
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if len(cb.got) != 1 {
		t.Fatalf("%d recording callbacks, want one: only A records", len(cb.got))
	}
}
