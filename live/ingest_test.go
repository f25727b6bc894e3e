package live

import (
	"errors"
	"slices"
	"testing"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/rtpframe"
	"github.com/trtcd/trtcd/sfu"
)

// Issue 16: any pusher with a valid userSig could end the process (and
// every room on it) with a video tag whose AVCC length prefix is 0: the
// splitter yielded an empty NAL unit and rtpframe.NALType read its first byte.
// The tag now carries nothing and the push goes on: viewers get the
// pictures around it, and nothing panicked (not even a recovered panic).
func TestZeroLengthNALDoesNotEndThePush(t *testing.T) {
	idr := []byte{0x65, 0x88, 0x84, 0x00}
	slice := []byte{0x41, 0x9a, 0x02}
	for _, lengthSize := range []int{1, 2, 4} {
		media := newMedia(t)
		pub := join(t, media, "room", "pusher", sfu.SourceAudio, sfu.SourceMain)
		viewer := join(t, media, "room", "viewer")
		sink := &rtpSink{}
		viewer.Follow("pusher", sfu.SourceMain, sink, nil)
		in := NewIngest(pub, IngestConfig{ID: "pusher", Logger: quiet})
		panicsBefore := panics.Count(panics.Ingest)

		tags := []struct {
			body []byte
			want []byte // NAL types the viewer gets for it
		}{
			{avcHeader(lengthSize), nil},
			{picture(true, lengthPrefixed(lengthSize, nil)), nil}, // the tag of the report
			{picture(true, lengthPrefixed(lengthSize, nil, idr, nil)), []byte{rtpframe.NALSPS, rtpframe.NALPPS, rtpframe.NALIDR}},
			{picture(false, lengthPrefixed(lengthSize, nil, nil, slice)), []byte{rtpframe.NALSlice}},
		}
		var want []byte
		for i, tag := range tags {
			if err := in.WriteTag(flv.Tag{Type: flv.TagVideo, Timestamp: uint32(i * 40), Data: tag.body}); err != nil {
				t.Fatalf("length size %d, tag %d: the push ended: %v", lengthSize, i, err)
			}
			want = append(want, tag.want...)
		}
		if got := sink.nalTypes(); !slices.Equal(got, want) {
			t.Fatalf("length size %d: the viewer got NAL units %v, want %v", lengthSize, got, want)
		}
		if n := panics.Count(panics.Ingest) - panicsBefore; n != 0 {
			t.Fatalf("length size %d: %v panics recovered; the tag must not reach a bug at all", lengthSize, n)
		}
		in.Close()
	}
}

// NAL units that H.264 does not define (0, and RFC 6184's packet types
// 24-31) are not sent on as single-NAL packets: a viewer would take them
// apart as STAP-A or FU-A.
func TestIngestDropsNonH264NALUnits(t *testing.T) {
	media := newMedia(t)
	pub := join(t, media, "room", "pusher", sfu.SourceMain)
	viewer := join(t, media, "room", "viewer")
	sink := &rtpSink{}
	viewer.Follow("pusher", sfu.SourceMain, sink, nil)
	in := NewIngest(pub, IngestConfig{ID: "pusher", Logger: quiet})
	defer in.Close()
	stapA := []byte{0x78, 0, 2, 0x65, 0x88}
	fuA := []byte{0x7c, 0x85, 1, 2}
	for i, body := range [][]byte{avcHeader(4),
		picture(true, lengthPrefixed(4, []byte{0x65, 1}, stapA, fuA, []byte{0x00, 7}, []byte{0x1f, 9}))} {
		if err := in.WriteTag(flv.Tag{Type: flv.TagVideo, Timestamp: uint32(i), Data: body}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := sink.nalTypes(), []byte{rtpframe.NALSPS, rtpframe.NALPPS, rtpframe.NALIDR}; !slices.Equal(got, want) {
		t.Fatalf("the viewer got NAL units %v, want %v", got, want)
	}
}

// A sequence header whose parameter sets are not an SPS and a PPS ends the
// push: nothing after it could be decoded, played or recorded.
func TestIngestRefusesAHeaderWithoutRealParameterSets(t *testing.T) {
	media := newMedia(t)
	pub := join(t, media, "room", "pusher", sfu.SourceMain)
	in := NewIngest(pub, IngestConfig{ID: "pusher", Logger: quiet})
	defer in.Close()
	rec, _ := flv.BuildAVCConfig(testSPS, []byte{0x65}) // an IDR header where the PPS goes
	body := flv.AppendVideoTag(nil, flv.VideoTag{FrameType: flv.FrameKey, AVCPacketType: flv.AVCSequenceHeader, Data: rec})
	err := in.WriteTag(flv.Tag{Type: flv.TagVideo, Data: body})
	if !errors.Is(err, flv.ErrBadAVCConfig) {
		t.Fatalf("err = %v, want flv.ErrBadAVCConfig", err)
	}
}
