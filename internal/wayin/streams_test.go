package wayin

import (
	"slices"
	"testing"

	"github.com/trtcd/trtcd/sfu"
)

// The names of a member's video streams, as /ws, WHIP and WHEP take them.
func TestVideoSources(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  []sfu.Source
		ok    bool
	}{
		{nil, nil, true},
		{[]string{"main"}, []sfu.Source{sfu.SourceMain}, true},
		{[]string{"big", "small"}, []sfu.Source{sfu.SourceMain, sfu.SourceSmall}, true},
		{[]string{"Main", "Small", "AUX"}, []sfu.Source{sfu.SourceMain, sfu.SourceSmall, sfu.SourceSub}, true},
		{[]string{"sub"}, []sfu.Source{sfu.SourceSub}, true},
		{[]string{"main", "big"}, nil, false},                 // the main stream twice
		{[]string{"audio"}, nil, false},                       // not a video stream
		{[]string{"main", "small", "sub", "sub"}, nil, false}, // more than three
		{[]string{""}, []sfu.Source{sfu.SourceMain}, true},    // unnamed: main
	} {
		got, err := VideoSources(tc.names)
		if (err == nil) != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("VideoSources(%q) = %v, %v; want %v (ok %v)", tc.names, got, err, tc.want, tc.ok)
		}
	}
	if !ScreenOnly([]sfu.Source{sfu.SourceSub}) || ScreenOnly([]sfu.Source{sfu.SourceMain, sfu.SourceSub}) || ScreenOnly(nil) {
		t.Error("ScreenOnly: only the sub-stream alone is a screen share")
	}
}
