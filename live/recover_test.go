package live

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/rtpframe"
	"github.com/trtcd/trtcd/sfu"
)

// A bug stands in for one that media could reach: the audio codecs are the
// seams where a test can plant one.
type buggyTranscoder struct{}

func (buggyTranscoder) Push([]byte, uint32, func([]byte, uint32)) error {
	panic("a bug in the transcoder")
}
func (buggyTranscoder) Close() error { return nil }

type buggyEncoder struct{ echoEncoder }

func (buggyEncoder) Push([]byte, uint32, func([]byte, uint32)) error { panic("a bug in the encoder") }

// echoEncoder passes Opus payloads through as "AAC" frames.
type echoEncoder struct{}

func (echoEncoder) AudioSpecificConfig() []byte { return []byte{0x11, 0x90} }
func (echoEncoder) Push(opus []byte, ts uint32, emit func([]byte, uint32)) error {
	emit(opus, ts/48)
	return nil
}
func (echoEncoder) Close() error { return nil }

// A panic in an ingest ends that push only: WriteTag returns ErrInternal
// (the RTMP server then closes the connection), the panic is counted, and
// another pusher's viewers go on getting pictures.
func TestIngestPanicEndsOnlyThatPush(t *testing.T) {
	media := newMedia(t)
	buggy := NewIngest(join(t, media, "room", "buggy", sfu.SourceAudio), IngestConfig{ID: "buggy", Logger: quiet,
		Transcoder: func([]byte) (AudioTranscoder, error) { return buggyTranscoder{}, nil }})
	good := NewIngest(join(t, media, "room", "good", sfu.SourceMain), IngestConfig{ID: "good", Logger: quiet})
	defer good.Close()
	sink := &rtpSink{}
	join(t, media, "room", "viewer").Follow("good", sfu.SourceMain, sink, nil)
	before := panics.Count(panics.Ingest)

	if err := buggy.WriteTag(flv.Tag{Type: flv.TagAudio, Data: flv.AppendAudioTag(nil, flv.AACSequenceHeader, []byte{0x12, 0x10})}); err != nil {
		t.Fatal(err)
	}
	err := buggy.WriteTag(flv.Tag{Type: flv.TagAudio, Timestamp: 23, Data: flv.AppendAudioTag(nil, flv.AACRaw, []byte{0x21, 0x10})})
	if !errors.Is(err, ErrInternal) {
		t.Fatalf("the buggy push got %v, want ErrInternal", err)
	}
	buggy.Close()
	if n := panics.Count(panics.Ingest) - before; n != 1 {
		t.Fatalf("%v ingest panics counted, want 1", n)
	}
	for i, body := range [][]byte{avcHeader(4), picture(true, lengthPrefixed(4, []byte{0x65, 0x88}))} {
		if err := good.WriteTag(flv.Tag{Type: flv.TagVideo, Timestamp: uint32(i), Data: body}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := sink.nalTypes(), []byte{rtpframe.NALSPS, rtpframe.NALPPS, rtpframe.NALIDR}; !slices.Equal(got, want) {
		t.Fatalf("the other pusher's viewer got %v, want %v", got, want)
	}
}

// A panic in a player ends that player only: Play returns ErrInternal, the
// panic is counted, and another player of the same stream goes on.
func TestPlayerPanicEndsOnlyThatPlayer(t *testing.T) {
	media := newMedia(t)
	pub := join(t, media, "room", "pub", sfu.SourceAudio)
	track, err := pub.PublishTrack("pub/audio", sfu.SourceAudio, OpusCodec, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := panics.Count(panics.Player)
	buggy := newPlayer(join(t, media, "room", "buggy"), "pub", newTagSink(),
		PlayConfig{Logger: quiet, NewAudioEncoder: func() (AudioEncoder, error) { return buggyEncoder{}, nil }})
	buggyDone := make(chan error, 1)
	go func() { buggyDone <- buggy.run(ctx) }()
	tags := newTagSink()
	good := newPlayer(join(t, media, "room", "good"), "pub", tags,
		PlayConfig{Logger: quiet, NewAudioEncoder: func() (AudioEncoder, error) { return echoEncoder{}, nil }})
	go good.run(ctx)

	w := rtpframe.Packetizer{PayloadType: opusPayloadType, SSRC: 5}
	track.Write(w.Packet(960, false, []byte{0xfc, 1}))
	if err := waitFor(buggyDone); !errors.Is(err, ErrInternal) {
		t.Fatalf("the buggy player ended with %v, want ErrInternal", err)
	}
	if n := panics.Count(panics.Player) - before; n != 1 {
		t.Fatalf("%v player panics counted, want 1", n)
	}
	track.Write(w.Packet(1920, false, []byte{0xfc, 2}))
	for tags.count() < 3 { // the AAC header and both frames
		waitFor(tags.got)
	}
}

// waitFor receives from c; the deadline only turns a hang into a failure.
func waitFor[T any](c <-chan T) T {
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		panic("nothing came in 10 s")
	}
}
