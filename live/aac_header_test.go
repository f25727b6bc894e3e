package live

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/sfu"
)

// pipelineCounter stands in for the AAC→Opus transcoder and counts how many
// the ingest builds: each real one is a faad2 decoder, a resampler and an
// Opus encoder, about 100 µs of CPU.
type pipelineCounter struct{ built, open int }

func (c *pipelineCounter) new(asc []byte) (AudioTranscoder, error) {
	c.built++
	c.open++
	return countedTranscoder{c}, nil
}

type countedTranscoder struct{ c *pipelineCounter }

func (countedTranscoder) Push([]byte, uint32, func([]byte, uint32)) error { return nil }
func (t countedTranscoder) Close() error                                  { t.c.open--; return nil }

func aacHeader(asc []byte) flv.Tag {
	return flv.Tag{Type: flv.TagAudio, Data: flv.AppendAudioTag(nil, flv.AACSequenceHeader, asc)}
}

// A pusher repeating its AAC sequence header (some send one with every
// keyframe; a hostile one sends nothing else, 4 bytes a tag) keeps the one
// transcoder it has: a repeat is not a reason to build another.
func TestARepeatedAACHeaderBuildsOneTranscoder(t *testing.T) {
	media := newMedia(t)
	var pipelines pipelineCounter
	in := NewIngest(join(t, media, "room", "pusher", sfu.SourceAudio), IngestConfig{ID: "pusher", Logger: quiet, Transcoder: pipelines.new})
	hdr := aacHeader([]byte{0x12, 0x10}) // AAC-LC 44.1 kHz stereo
	for i := range 20000 {
		if err := in.WriteTag(hdr); err != nil {
			t.Fatalf("header %d: the push ended: %v", i, err)
		}
	}
	in.Close()
	if pipelines.built != 1 || pipelines.open != 0 {
		t.Fatalf("20,000 identical headers built %d transcoders (%d left open), want 1 (0)", pipelines.built, pipelines.open)
	}
}

// A pusher whose AAC config keeps changing builds a transcoder per change
// for only aacConfigChanges of them a second; past that the push ends
// with an error and a log line saying why.
func TestAFloodOfChangingAACHeadersEndsThePush(t *testing.T) {
	media := newMedia(t)
	var pipelines pipelineCounter
	var logs bytes.Buffer
	in := NewIngest(join(t, media, "room", "pusher", sfu.SourceAudio),
		IngestConfig{ID: "pusher", Logger: slog.New(slog.NewTextHandler(&logs, nil)), Transcoder: pipelines.new})
	defer in.Close()
	configs := [][]byte{{0x12, 0x10}, {0x11, 0x90}} // 44.1 and 48 kHz stereo
	var err error
	sent := 0
	for ; sent < 20000 && err == nil; sent++ {
		err = in.WriteTag(aacHeader(configs[sent%2]))
	}
	if !errors.Is(err, ErrAACConfigFlood) {
		t.Fatalf("after %d changing headers: err = %v, want ErrAACConfigFlood", sent, err)
	}
	// A second's worth at once, and one more for the time the test runs.
	if pipelines.built > aacConfigChanges+1 {
		t.Fatalf("%d changing headers built %d transcoders, want at most %d", sent, pipelines.built, aacConfigChanges+1)
	}
	if !strings.Contains(logs.String(), "push ended") {
		t.Fatalf("no log line says why the push ended:\n%s", logs.String())
	}
}
