package live

import (
	"bytes"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/pace"
	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/rtpframe"
	"github.com/trtcd/trtcd/sfu"
)

// A pusher sending one-byte keyframes as fast as it can gets no more
// pictures to its viewers than the pace: a second's worth at once, then
// pace.VideoFrames a second, each with its SPS and PPS.
func TestATinyPictureFloodIsPacedAtTheIngest(t *testing.T) {
	media := newMedia(t)
	pub := join(t, media, "room", "pusher", sfu.SourceAudio, sfu.SourceMain)
	viewer := join(t, media, "room", "viewer")
	sink := &rtpSink{}
	viewer.Follow("pusher", sfu.SourceMain, sink, nil)
	in := NewIngest(pub, IngestConfig{ID: "pusher", Logger: quiet})
	defer in.Close()
	if err := in.WriteTag(flv.Tag{Type: flv.TagVideo, Data: avcHeader(4)}); err != nil {
		t.Fatal(err)
	}
	idr := flv.Tag{Type: flv.TagVideo, Data: picture(true, lengthPrefixed(4, []byte{0x65, 0x88}))}
	start, sent := time.Now(), 0
	for ; time.Since(start) < time.Second; sent++ {
		if err := in.WriteTag(idr); err != nil {
			t.Fatal(err)
		}
	}
	pictures := bytes.Count(sink.nalTypes(), []byte{rtpframe.NALIDR})
	most := int(time.Since(start).Seconds()*pace.VideoFrames) + pace.VideoFrames + 1
	t.Logf("%d one-byte keyframes pushed in a second; the viewer got %d (at most %d)", sent, pictures, most)
	if pictures > most || pictures < pace.VideoFrames {
		t.Fatalf("the viewer got %d of %d pictures, want %d to %d", pictures, sent, pace.VideoFrames, most)
	}
}

// A sequence header's SPS or PPS longer than any encoder writes is refused:
// the ingest sends both ahead of every keyframe.
func TestAHugeParameterSetIsRefused(t *testing.T) {
	media := newMedia(t)
	in := NewIngest(join(t, media, "room", "pusher", sfu.SourceAudio, sfu.SourceMain), IngestConfig{ID: "pusher", Logger: quiet})
	defer in.Close()
	huge := append([]byte{0x67, 0x42, 0xc0, 0x0d}, make([]byte, 60<<10)...)
	rec, err := flv.BuildAVCConfig(huge, testPPS)
	if err != nil {
		t.Fatal(err)
	}
	tag := flv.AppendVideoTag(nil, flv.VideoTag{FrameType: flv.FrameKey, AVCPacketType: flv.AVCSequenceHeader, Data: rec})
	if err := in.WriteTag(flv.Tag{Type: flv.TagVideo, Data: tag}); err == nil {
		t.Fatal("a 60 KB SPS was taken")
	}
}
