package cluster_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/trtcd/trtcd/internal/testpeer"
	"github.com/trtcd/trtcd/internal/testredis"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// Redis stops for 10 s: the call across the nodes goes on without a pause
// of a second, a new viewer of the other node's publisher is told 14010,
// and once Redis is back (empty) the nodes fill the directory again and new
// viewers play.
func TestARedisOutageKeepsCallsAndRefusesOnlyWhatNeedsTheDirectory(t *testing.T) {
	redis := testredis.StartServer(t)
	a := startNode(t, redis.URL, "node-a")
	b := startNode(t, redis.URL, "node-b")
	const room = "6502"
	got, _ := watchAcross(t, a, b, room)
	time.Sleep(time.Second)
	for _, s := range got {
		s.Pause()
	}

	redis.Stop()
	time.Sleep(2 * time.Second) // past the directory's TTL: B must not take A for gone
	whep := fmt.Sprintf("http://%s/whep/%d/%s/alice?userId=carol", b.HTTPAddr(), app, room)
	view := testpeer.NewPeer(t, testpeer.Options{})
	if err := testpeer.ReceiveAudioVideo(view); err != nil {
		t.Fatal(err)
	}
	testpeer.Offer(t, view)
	// alice is relayed to B already: carol may play her from B's relay.
	if ans, _, status := post(t, whep, "carol", view); status != http.StatusCreated {
		t.Fatalf("a viewer of a publisher B relays already got %d %s", status, ans)
	}
	other := fmt.Sprintf("http://%s/whep/%d/%s/dave?userId=erin", b.HTTPAddr(), app, room)
	view2 := testpeer.NewPeer(t, testpeer.Options{})
	testpeer.ReceiveAudioVideo(view2)
	testpeer.Offer(t, view2)
	ans, _, status := post(t, other, "erin", view2)
	if status != http.StatusServiceUnavailable || !strings.Contains(ans, `"code":14010`) {
		t.Fatalf("a viewer of a publisher the directory would have to find: %d %s, want 503 with 14010", status, ans)
	}
	time.Sleep(8 * time.Second)
	for kind, s := range got {
		if p := s.Pause(); p > time.Second {
			t.Errorf("%s paused for %s during the outage", kind, p)
		}
	}

	redis.Start()
	testpeer.WaitFor(t, "A to publish alice in the directory again", 5*time.Second, func() bool {
		pubs, err := a.Cluster().Directory().Publications(t.Context(), roomKey(room))
		return err == nil && len(pubs) == 2
	})
	for kind, s := range got {
		n, span, ratio := s.Delivery()
		t.Logf("%s through the outage: %d of %d packets (%.2f%%), longest pause %s", kind, n, span, 100*ratio, s.Pause())
		if ratio < 0.99 {
			t.Errorf("%s delivery %.2f%% < 99%%", kind, 100*ratio)
		}
	}
	view3 := testpeer.NewPeer(t, testpeer.Options{})
	testpeer.ReceiveAudioVideo(view3)
	testpeer.Offer(t, view3)
	testpeer.WaitFor(t, "a new viewer on B after the outage", 10*time.Second, func() bool {
		ans, _, status = post(t, strings.Replace(whep, "carol", "frank", 1), "frank", view3)
		return status == http.StatusCreated
	})
	if err := view3.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans}); err != nil {
		t.Fatal(err)
	}
}

func roomKey(room string) string {
	id, _ := strconv.Atoi(room)
	return trtc.RoomKey(app, tlssig.Room{ID: uint32(id)})
}
