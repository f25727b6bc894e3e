package websdk

import (
	"slices"
	"testing"

	"github.com/trtcd/trtcd/sfu"
	"github.com/trtcd/trtcd/trtc/tlssig"
)

// Which uplink sections reach the SFU, as which sources, and which of them
// are idle, for what the SDK's publish says its senders carry and what the
// member may send: an empty section goes too when the member may send on
// it, since the SDK puts a track on it later without new SDP.
func TestPublishTakesTheSectionsTheMemberMaySendOn(t *testing.T) {
	all := tlssig.PrivAll
	camera := all &^ tlssig.PrivSendSubVideo
	for _, c := range []struct {
		name  string
		state *publishState
		priv  tlssig.Privilege
		kept  []sfu.Source
		idle  []sfu.Source
	}{
		{"an SDK that sends no state: microphone and camera", nil, camera,
			[]sfu.Source{sfu.SourceAudio, sfu.SourceMain, sfu.SourceSmall}, []sfu.Source{sfu.SourceSmall}},
		{"camera and microphone, screen allowed", &publishState{Audio: true, BigVideo: true}, all,
			[]sfu.Source{sfu.SourceAudio, sfu.SourceMain, sfu.SourceSmall, sfu.SourceSub}, []sfu.Source{sfu.SourceSmall, sfu.SourceSub}},
		{"camera with its small stream", &publishState{Audio: true, BigVideo: true, SmallVideo: true}, camera,
			[]sfu.Source{sfu.SourceAudio, sfu.SourceMain, sfu.SourceSmall}, nil},
		{"the auxiliary stream alone, no camera allowed", &publishState{AuxVideo: true}, tlssig.PrivEnterRoom | tlssig.PrivSendSubVideo,
			[]sfu.Source{sfu.SourceSub}, nil},
		{"a screen without bit 64 still reaches the SFU, which refuses it", &publishState{AuxVideo: true}, camera,
			[]sfu.Source{sfu.SourceAudio, sfu.SourceMain, sfu.SourceSmall, sfu.SourceSub}, []sfu.Source{sfu.SourceAudio, sfu.SourceMain, sfu.SourceSmall}},
	} {
		d := publishData{State: c.state}
		st := d.state()
		o, err := parseOffer(uplinkOffer(), uplink(st, c.priv))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var kept, idle []sfu.Source
		for i, src := range upSources {
			if o.kept(i) {
				kept = append(kept, src)
				if !st.carries(i) {
					idle = append(idle, src)
				}
			}
		}
		if !slices.Equal(kept, c.kept) || !slices.Equal(idle, c.idle) {
			t.Errorf("%s: kept %v idle %v; want %v, %v", c.name, kept, idle, c.kept, c.idle)
		}
	}
}

// What a downlink asks the SFU for, from the SDK's subscribe booleans.
func TestSubscribeRequestsWhatTheViewerWants(t *testing.T) {
	for _, c := range []struct {
		name  string
		d     subscribeData
		video sfu.Source
		sub   bool
	}{
		{"auto-subscribe: big and aux", subscribeData{Audio: true, BigVideo: true, AuxVideo: true}, sfu.SourceMain, true},
		{"small instead of big", subscribeData{Audio: true, SmallVideo: true, AuxVideo: true}, sfu.SourceSmall, true},
		{"big wins over small", subscribeData{BigVideo: true, SmallVideo: true}, sfu.SourceMain, false},
		{"the screen only", subscribeData{AuxVideo: true}, sfu.SourceSub, false},
	} {
		r := c.d.request()
		if r.Video != c.video || r.Sub != c.sub {
			t.Errorf("%s: Video %v, Sub %v; want %v, %v", c.name, r.Video, r.Sub, c.video, c.sub)
		}
	}
}
