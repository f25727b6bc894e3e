package cluster_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// What each of alice's video streams is filled with (peer.Source.Fill), so
// a viewer can tell which one a packet came from.
var fills = map[sfu.Source]byte{sfu.SourceMain: testpeer.FillMain, sfu.SourceSmall: testpeer.FillSmall, sfu.SourceSub: testpeer.FillScreen}

// alice, on node A, sends her camera big and small and shares her screen
// beside it; on node B, bob watches her camera and her screen at once and
// carol her small stream, all relayed from A. When alice stops sharing,
// B stops relaying the screen and keeps the camera; when she shares again,
// bob gets the new share, as a viewer on A would.
func TestAScreenShareAndSmallStreamOnNodeAAreWatchedOnNodeB(t *testing.T) {
	a, b := startTwoNodes(t)
	room := trtc.RoomKey(app, tlssig.Room{ID: 4720})
	publishSources(t, a.Media(), room, "alice", sfu.SourceMain, sfu.SourceSmall)
	stopShare := publishSources(t, a.Media(), room, "alice", sfu.SourceSub)

	testpeer.WaitFor(t, "the directory to list alice's streams on A", 10*time.Second, func() bool {
		return published(t, a.Cluster().Directory(), room, "alice") == "audio,video,small,sub"
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if relayed, err := b.Cluster().Want(ctx, room, "alice"); !relayed || err != nil {
		t.Fatalf("B does not relay alice: %v %v", relayed, err)
	}
	bob := watchSources(t, b.Media(), sfu.SubscribeRequest{Room: room, UserID: "bob", Publisher: "alice", Sub: true,
		AllowAudio: true, AllowVideo: true, AllowSub: true}, 2)
	carol := watchSources(t, b.Media(), sfu.SubscribeRequest{Room: room, UserID: "carol", Publisher: "alice", Video: sfu.SourceSmall,
		AllowAudio: true, AllowVideo: true}, 1)
	const enough = 100 // packets: a few seconds of each stream
	testpeer.WaitFor(t, "bob to get alice's camera and screen, carol her small stream, across the nodes", 20*time.Second, func() bool {
		return bob.count(sfu.SourceMain) >= enough && bob.count(sfu.SourceSub) >= enough && carol.count(sfu.SourceSmall) >= enough
	})
	if n := carol.count(sfu.SourceSub); n > 0 {
		t.Errorf("carol, who watches the small stream, got %d packets of the screen", n)
	}

	stopShare()
	testpeer.WaitFor(t, "B to stop relaying the screen", 10*time.Second, func() bool {
		return !relaysScreen(b.Media(), room)
	})
	camera, screen := bob.count(sfu.SourceMain), bob.count(sfu.SourceSub)
	testpeer.WaitFor(t, "the camera to go on without the screen", 10*time.Second, func() bool {
		return bob.count(sfu.SourceMain) >= camera+enough
	})

	publishSources(t, a.Media(), room, "alice", sfu.SourceSub)
	testpeer.WaitFor(t, "bob to get the new share", 20*time.Second, func() bool {
		return bob.count(sfu.SourceSub) >= screen+enough
	})
}

// published lists the kinds the directory says user publishes in room,
// in the order of sfu.Source.
func published(t *testing.T, dir *cluster.Directory, room, user string) string {
	pubs, err := dir.Publications(context.Background(), room)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, src := range []sfu.Source{sfu.SourceAudio, sfu.SourceMain, sfu.SourceSmall, sfu.SourceSub} {
		for _, p := range pubs {
			if p.User == user && p.Kind == src.String() {
				kinds = append(kinds, p.Kind)
			}
		}
	}
	return strings.Join(kinds, ",")
}

// relaysScreen says whether the node's media plane has alice's screen (a
// tap finds her sub-stream's track).
func relaysScreen(media *sfu.SFU, room string) bool {
	v, err := media.Join(room, "~probe")
	if err != nil {
		return false
	}
	defer v.Close()
	return v.Follow("alice", sfu.SourceSub, nopSink{}, nil).Track() != nil
}

type nopSink struct{}

func (nopSink) WriteRTP(*sfu.Packet) {}

// publishSources publishes the given video sources (the first, unless it
// is the screen, with a microphone) from one pion client through media;
// the returned func ends the publish.
func publishSources(t *testing.T, media *sfu.SFU, room, user string, video ...sfu.Source) (stop func()) {
	t.Helper()
	pc := testpeer.NewPeer(t, testpeer.Options{})
	var sent []byte
	for _, src := range video {
		sent = append(sent, fills[src])
	}
	testpeer.SendFills(t, pc, video[0] != sfu.SourceSub, sent...)
	testpeer.Offer(t, pc)
	sess, answer, err := media.Publish(context.Background(), sfu.PublishRequest{Room: room, UserID: user, Offer: pc.LocalDescription().SDP,
		Video: video, MinBitrate: 100, MaxBitrate: 800, AllowAudio: true, AllowVideo: true, AllowSub: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() { once.Do(func() { sess.Close(); pc.Close() }) }
	t.Cleanup(stop)
	return stop
}

// sourceCounts counts the video packets a viewer got from each of the
// publisher's streams, by their fill.
type sourceCounts struct{ *testpeer.FillCounts }

func (c sourceCounts) count(src sfu.Source) int { return c.Any(fills[src]) }

// watchSources subscribes through media with videoSections video
// sections; req gives the choices and privileges.
func watchSources(t *testing.T, media *sfu.SFU, req sfu.SubscribeRequest, videoSections int) sourceCounts {
	t.Helper()
	pc := testpeer.NewPeer(t, testpeer.Options{})
	testpeer.ReceiveVideo(t, pc, videoSections, false)
	c := sourceCounts{testpeer.CountFills(pc)}
	testpeer.Offer(t, pc)
	req.Offer = pc.LocalDescription().SDP
	sess, answer, err := media.Subscribe(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sess.Close)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	return c
}
