package live_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testways"
	"github.com/trtcd/trtcd/rtmp"
	"github.com/trtcd/trtcd/trtc"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// A member's sub-stream plays as "{sdkAppId}_{room}_{user}_aux". A viewer
// whose privateMapKey lacks the receive-sub-stream bit (128) is refused
// with 102019 naming the bit, whatever else it may receive; one with the
// bit, even with no other receive bit, is admitted (here it then waits for a screen nobody shares, and
// gets 404 with code 82 when the wait ends).
func TestAuxPlayersNeedTheSubStreamBit(t *testing.T) {
	const strict = testways.StrictApp
	s := testways.Start(t, 0, func(s *testways.Ways) { s.Live.PublisherWait = 300 * time.Millisecond })
	play := func(viewer string, p tlssig.Privilege) testways.Reply {
		pmk := testways.PrivateMapKey(strict, viewer, tlssig.Room{ID: 80}, p, time.Hour)
		return testways.Get(t, http.DefaultClient, fmt.Sprintf("%s/live/%d_80_alice_aux.flv?userid=%s&usersig=%s&privatemapkey=%s",
			s.URL, strict, viewer, url.QueryEscape(testways.UserSig(strict, viewer, time.Hour)), url.QueryEscape(pmk)))
	}
	for _, tc := range []struct {
		story string
		priv  tlssig.Privilege
	}{
		{"a viewer whose key has every bit but 128", tlssig.PrivAll &^ tlssig.PrivRecvSubVideo},
		{"a viewer who may receive the camera's audio and video only", tlssig.PrivCreateRoom | tlssig.PrivEnterRoom | tlssig.PrivRecvAudio | tlssig.PrivRecvVideo},
	} {
		r := play("bob", tc.priv)
		if r.Code != trtc.CodeNoRecvVideoPrivilege || !strings.Contains(r.Message, "bit 128") {
			t.Errorf("%s: HTTP %d code %d %q, want 102019 naming bit 128", tc.story, r.Status, r.Code, r.Message)
		}
	}
	for viewer, p := range map[string]tlssig.Privilege{"carol": tlssig.PrivAll, "dave": tlssig.PrivCreateRoom | tlssig.PrivEnterRoom | tlssig.PrivRecvSubVideo} {
		if r := play(viewer, p); r.Status != http.StatusNotFound || r.Code != trtc.CodeParamCheckFailed || !strings.Contains(r.Message, "alice published nothing") {
			t.Errorf("a viewer with bit 128 (%v) got HTTP %d code %d %q, want admission and then 404 with 82", p, r.Status, r.Code, r.Message)
		}
	}
	if n := s.Rooms.ViewerSessions(strict, "bob") + s.Rooms.ViewerSessions(strict, "carol") + s.Rooms.ViewerSessions(strict, "dave"); n != 0 {
		t.Errorf("the refused and the ended players hold %d viewer slots", n)
	}
}

// An RTMP push is a member's main stream: a push named "_aux" is told
// NetStream.Publish.BadName with code 82 (screens are shared over WebRTC).
func TestRTMPPushOfAnAuxStreamIsABadName(t *testing.T) {
	s := testways.Start(t, 0, nil)
	conn := &rtmp.ConnInfo{RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1935}, App: "live"}
	q := url.Values{"usersig": {testways.UserSig(open, "alice", time.Hour)}}
	p, err := s.Live.Publish(context.Background(), conn, "live", fmt.Sprintf("%d_81_alice_aux", open), q)
	var refused *rtmp.StatusError
	if !errors.As(err, &refused) || refused.Code != "NetStream.Publish.BadName" || !strings.HasPrefix(refused.Description, "82 ") {
		if p != nil {
			p.Close()
		}
		t.Fatalf("an _aux push got %v, want NetStream.Publish.BadName with code 82", err)
	}
}
