package live

import (
	"errors"
	"testing"

	"github.com/trtcd/trtcd/codec"
)

// The fuzz targets' first seeds are ordinary streams: they must come out
// whole at every viewer, or the targets would fuzz paths that end early.
func TestWholePathsCarryOrdinaryStreams(t *testing.T) {
	if _, err := codec.NewOpusToAAC(2, 48000, 64000); errors.Is(err, codec.ErrUnavailable) {
		t.Skip("players and recordings have no AAC without cgo")
	}
	media := fuzzMedia(t)
	for name, run := range map[string]func() *viewers{
		"RTMP ingest":      func() *viewers { return pushRTMP(t, media, rtmpSeeds(t)[0]) },
		"WebRTC publisher": func() *viewers { return publishRTP(t, media, webrtcSeeds(t)[0]) },
	} {
		v := run()
		if v.flv.pictures < 2 || v.flv.audioFrames < 2 {
			t.Errorf("%s: the FLV player got %d pictures and %d AAC frames", name, v.flv.pictures, v.flv.audioFrames)
		}
		if v.rec.video < 2 || v.rec.audio < 2 {
			t.Errorf("%s: the recording has %d video and %d audio samples", name, v.rec.video, v.rec.audio)
		}
		t.Logf("%s: player %d pictures, %d AAC frames; recording %d video, %d audio samples; RTP %d video, %d audio",
			name, v.flv.pictures, v.flv.audioFrames, v.rec.video, v.rec.audio, v.rtp.video, v.rtp.audio)
	}
}
