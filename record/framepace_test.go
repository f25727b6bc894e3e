package record

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/pace"
	"github.com/trtcd/trtcd/record/mp4"
	"github.com/trtcd/trtcd/rtpframe"
	"github.com/trtcd/trtcd/sfu"
)

// A publisher that sends one-byte pictures as fast as it can (a few bytes
// each on the wire, within any byte rate) gets no more pictures into its
// recording than the pace keeps: the file, and the memory finalising it
// takes, grow with the recording's length, not with what it was sent.
func TestATinyFrameFloodIsPacedIntoTheRecording(t *testing.T) {
	media := newSFU(t)
	dir := t.TempDir()
	rec := newRecorder(t, media, dir, "")
	pub, err := media.Join("room", "flooder", sfu.SourceAudio, sfu.SourceMain)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := rec.Start(Request{SDKAppID: 1, Room: "room", RoomKey: "room", UserID: "flooder", RecordID: "flood"}); err != nil {
		t.Fatal(err)
	}
	track, err := pub.PublishTrack("v", sfu.SourceMain, h264Codec, nil)
	if err != nil {
		t.Fatal(err)
	}
	sps := []byte{0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0x99, 0x20}
	p := rtpframe.Packetizer{PayloadType: 102, SSRC: 1}
	p.PacketizeNALU(sps, 0, false, track.Write)
	p.PacketizeNALU([]byte{0x68, 0xcb, 0x83, 0xcb, 0x20}, 0, false, track.Write)
	start, sent := time.Now(), 0
	for ; time.Since(start) < 2*time.Second; sent++ {
		p.PacketizeNALU([]byte{0x65, 0x88}, uint32(sent), true, track.Write) // a one-packet keyframe
		if sent%64 == 0 {
			time.Sleep(100 * time.Microsecond) // the recorder's goroutine gets its share
		}
	}
	time.Sleep(300 * time.Millisecond) // the recorder's queue drains
	partials, _ := filepath.Glob(filepath.Join(dir, "partial", "*.mp4"))
	if len(partials) != 1 {
		t.Fatalf("partial files %v, want one", partials)
	}
	info, err := mp4.Scan(partials[0])
	if err != nil {
		t.Fatal(err)
	}
	most := int(time.Since(start).Seconds()*pace.VideoFrames) + pace.VideoFrames + 1 // a second's worth, then the pace
	t.Logf("%d one-byte pictures sent in 2 s; %d recorded (at most %d)", sent, info.VideoSamples, most)
	if info.VideoSamples > most || info.VideoSamples < pace.VideoFrames {
		t.Fatalf("%d pictures recorded of %d sent, want %d to %d", info.VideoSamples, sent, pace.VideoFrames, most)
	}
}
