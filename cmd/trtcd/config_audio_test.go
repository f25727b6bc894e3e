package main

import (
	"strings"
	"testing"

	"github.com/trtcd/trtcd/codec"
)

// RTMP pushers' Opus comes from rtmp_audio, then --opus-complexity and
// --opus-mono-channels; with neither, codec's measured defaults. An
// explicit complexity 0 in the file is kept, not taken for "not given".
func TestRTMPAudioFromFileAndFlags(t *testing.T) {
	file := writeConfig(t, "rtmp_audio: {opus_complexity: 5, mono_channels: 2}\n")
	zero := writeConfig(t, "rtmp_audio: {opus_complexity: 0}\n")
	for _, tc := range []struct {
		story        string
		flags        serveFlags
		complexity   int
		monoChannels int
	}{
		{"nothing said", serveFlags{}, codec.DefaultOpusComplexity, 0},
		{"the file", serveFlags{config: file}, 5, 2},
		{"a file that says 0", serveFlags{config: zero}, 0, 0},
		{"the flags over the file", serveFlags{config: file, opusComplexity: optionalInt{3, true}, opusMonoChannels: 1}, 3, 1},
	} {
		c, err := loadConfig(&tc.flags, envOf(nil))
		if err != nil || c.Opus.Complexity != tc.complexity || c.Opus.MonoSourceChannels != tc.monoChannels {
			t.Errorf("%s: %+v (%v), want complexity %d, mono channels %d", tc.story, c.Opus, err, tc.complexity, tc.monoChannels)
		}
	}
	for _, bad := range []serveFlags{{opusComplexity: optionalInt{11, true}}, {opusMonoChannels: 3}} {
		if _, err := loadConfig(&bad, envOf(nil)); err == nil || !strings.Contains(err.Error(), "rtmp_audio") {
			t.Errorf("flags %+v: error %v, want one about rtmp_audio", bad, err)
		}
	}
}
