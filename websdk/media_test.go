package websdk

import (
	"slices"
	"testing"

	"github.com/trtcd/trtcd/sfu"
)

// Which uplink sections reach the SFU, as which sources, for what the
// SDK's publish says its senders carry.
func TestPublishTakesTheSectionsWithATrack(t *testing.T) {
	for _, c := range []struct {
		name  string
		state *publishState
		audio bool
		video []sfu.Source
	}{
		{"an SDK that sends no state: microphone and camera", nil, true, []sfu.Source{sfu.SourceMain}},
		{"camera and microphone", &publishState{Audio: true, BigVideo: true}, true, []sfu.Source{sfu.SourceMain}},
		{"camera with its small stream", &publishState{Audio: true, BigVideo: true, SmallVideo: true}, true,
			[]sfu.Source{sfu.SourceMain, sfu.SourceSmall}},
		{"the auxiliary stream alone", &publishState{AuxVideo: true}, false, []sfu.Source{sfu.SourceSub}},
		{"everything", &publishState{Audio: true, BigVideo: true, SmallVideo: true, AuxVideo: true}, true,
			[]sfu.Source{sfu.SourceMain, sfu.SourceSmall, sfu.SourceSub}},
	} {
		d := publishData{State: c.state}
		o, err := parseOffer(uplinkOffer(), d.sends)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var video []sfu.Source
		for _, v := range upVideoSources {
			if o.kept(v.at) {
				video = append(video, v.src)
			}
		}
		if o.kept(upAudio) != c.audio || !slices.Equal(video, c.video) {
			t.Errorf("%s: audio %v, video %v; want %v, %v", c.name, o.kept(upAudio), video, c.audio, c.video)
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
