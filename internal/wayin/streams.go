package wayin

import (
	"fmt"
	"strings"

	"github.com/trtcd/trtcd/sfu"
)

// videoNames are the names trtcd's own clients give a member's video
// streams (/ws, WHIP and WHEP): "main" and "small" as the TRTC SDKs say
// big and small, "sub" as trtcd's events say, and "aux", the TRTC Web
// SDK's and stream ids' name for the screen share. "big" is "main".
var videoNames = map[string]sfu.Source{
	"main": sfu.SourceMain, "big": sfu.SourceMain,
	"small": sfu.SourceSmall,
	"sub":   sfu.SourceSub, "aux": sfu.SourceSub,
}

// VideoSource parses one video stream name; "" is the main stream.
func VideoSource(name string) (sfu.Source, error) {
	if name == "" {
		return sfu.SourceMain, nil
	}
	if s, ok := videoNames[strings.ToLower(name)]; ok {
		return s, nil
	}
	return 0, fmt.Errorf("video stream %q: want main (or big), small, or sub (or aux)", name)
}

// VideoSources parses the sources of a publish's video sections, in
// order: nil for none named (one main video), each stream at most once.
func VideoSources(names []string) ([]sfu.Source, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if len(names) > 3 {
		return nil, fmt.Errorf("%d video sections: a member publishes at most main, small and sub", len(names))
	}
	out := make([]sfu.Source, 0, len(names))
	for _, n := range names {
		s, err := VideoSource(n)
		if err != nil {
			return nil, err
		}
		for _, prev := range out {
			if prev == s {
				return nil, fmt.Errorf("two video sections send the %s stream", n)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// ScreenOnly reports whether sources name the screen share alone: such a
// publish is a session of its own beside the member's camera.
func ScreenOnly(sources []sfu.Source) bool {
	return len(sources) == 1 && sources[0] == sfu.SourceSub
}
