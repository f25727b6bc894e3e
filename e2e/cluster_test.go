package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/internal/testredis"
	"github.com/trtcd/trtcd/internal/testws"
	"github.com/trtcd/trtcd/record"
	"github.com/trtcd/trtcd/server"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
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
	// The room is a class too, made one on B before anyone is in it (a
	// user may not make a room others are in a class of its own).
	teacher := testws.Dial(t, b.HTTPAddr().String())
	classRequests(t, teacher, []classRequest{
		{"login", map[string]any{"sdkAppId": app, "userId": "teacher", "userSig": userSig("teacher")}},
		{"createClassroom", map[string]any{"classId": 7400}},
	})
	startFFmpeg(t, pushArgs(pushURL(a.RTMPAddr().String(), "7400", "dora", "&recordid=rec-cluster"), "12")...)
	// The push is up and in the directory (ffmpeg's start takes what the
	// machine's load makes it take).
	testpeer.WaitFor(t, "dora's audio and video in the directory", 30*time.Second, func() bool {
		pubs, err := a.Cluster().Directory().Publications(t.Context(), trtc.RoomKey(app, tlssig.Room{ID: 7400}))
		return err == nil && len(pubs) == 2
	})

	flv := fmt.Sprintf("http://%s/live/%d_7400_dora_main.flv?userid=viewer&usersig=%s", b.HTTPAddr(), app, userSig("viewer"))
	if got := ffprobeStreams(t, flv); got != "h264,aac" && got != "aac,h264" {
		t.Fatalf("FLV on B has streams %q, want h264 and aac", got)
	}

	// eve pushes on B with the same recordId: A, which records it, records
	// her too, through the relay.
	startFFmpeg(t, pushArgs(pushURL(b.RTMPAddr().String(), "7400", "eve", "&recordid=rec-cluster"), "6")...)
	// A group message sent on B goes into the message log next to A's
	// recordings.
	classRequests(t, teacher, []classRequest{
		{"joinClassroom", map[string]any{"classId": 7400, "recordId": "rec-cluster"}},
		{"sendMessage", map[string]any{"type": "text", "text": "sent on B", "clientMsgId": "b1"}},
	})

	// Durations: dora's from her first keyframe on; eve's from the first
	// keyframe after the relay to A started, which an RTMP pusher sends
	// only once a GOP (2 s here).
	want := map[string][2]float64{fmt.Sprint(app, "_7400_dora_main"): {11.3, 12.7}, fmt.Sprint(app, "_7400_eve_main"): {3.3, 6.7}}
	for _, got := range cb.wait(t, "rec-cluster", 2, 40*time.Second) {
		checkSign(t, got)
		if !strings.Contains(got.VideoURL, a.HTTPAddr().String()) {
			t.Errorf("%s's recording is served from %s, want node A (%s), which holds rec-cluster", got.StreamID, got.VideoURL, a.HTTPAddr())
		}
		p := probeFile(t, download(t, got.VideoURL, t.TempDir()))
		if d, w := p.duration(), want[got.StreamID]; d < w[0] || d > w[1] || len(p.Streams) != 2 {
			t.Errorf("%s's recording lasts %.2f s with streams %+v, want %.1f–%.1f s of h264 and aac", got.StreamID, d, p.Streams, w[0], w[1])
		}
		delete(want, got.StreamID)
	}
	if len(want) != 0 {
		t.Errorf("no recording of %v", want)
	}
	time.Sleep(time.Second)
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if len(cb.got) != 2 {
		t.Fatalf("%d recording callbacks, want two: only A records", len(cb.got))
	}
	auth := fmt.Sprintf("sdkappid=%d&identifier=administrator&usersig=%s", app, userSig("administrator"))
	var list struct{ Files []struct{ File record.File } }
	getJSON(t, "http://"+a.HTTPAddr().String()+"/v1/record/files?recordId=rec-cluster&"+auth, &list)
	for _, f := range list.Files {
		if f.File.Format == "jsonl" {
			if log := get(t, "http://"+a.HTTPAddr().String()+"/v1/record/files/"+f.File.ID+"?"+auth); !strings.Contains(log, `"sent on B"`) {
				t.Fatalf("A's message log for rec-cluster: %q, want the message sent on B", log)
			}
			return
		}
	}
	t.Fatalf("A lists no message log for rec-cluster: %+v", list.Files)
}

type classRequest struct {
	typ  string
	data map[string]any
}

// classRequests sends each request on c, each of which must succeed.
func classRequests(t *testing.T, c *testws.Member, reqs []classRequest) {
	t.Helper()
	for _, req := range reqs {
		if r := c.Request(req.typ, req.data); r["code"] != 0 {
			t.Fatalf("%s: %v", req.typ, r)
		}
	}
}
