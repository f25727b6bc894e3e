//go:build cgo

package live

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/trtcd/trtcd/codec"
	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/sfu"
)

// AAC that is not AAC-LC or HE-AAC never reaches faad2: the sequence
// header ends the push with an error that says so, and a log line.
func TestUnsupportedAACEndsThePushWithALogLine(t *testing.T) {
	media := newMedia(t)
	for name, asc := range map[string][]byte{
		"AAC Main": {0x0a, 0x10}, // object type 1, 44.1 kHz, stereo
		"AAC LTP":  {0x22, 0x10}, // object type 4
	} {
		var logs bytes.Buffer
		in := NewIngest(join(t, media, "room", "pusher", sfu.SourceAudio),
			IngestConfig{ID: "pusher", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		err := in.WriteTag(flv.Tag{Type: flv.TagAudio, Data: flv.AppendAudioTag(nil, flv.AACSequenceHeader, asc)})
		in.Close()
		if !errors.Is(err, codec.ErrUnsupportedObjectType) {
			t.Errorf("%s: err = %v, want codec.ErrUnsupportedObjectType", name, err)
		}
		if !strings.Contains(logs.String(), "push refused") {
			t.Errorf("%s: no log line says the push was refused:\n%s", name, logs.String())
		}
	}
}

// HE-AAC (explicit SBR) is transcoded like AAC-LC.
func TestHEAACIsAccepted(t *testing.T) {
	media := newMedia(t)
	in := NewIngest(join(t, media, "room", "pusher", sfu.SourceAudio), IngestConfig{ID: "pusher", Logger: quiet})
	defer in.Close()
	heAAC := []byte{0x2b, 0x11, 0x88, 0x00} // object type 5, 24 kHz core, stereo, 48 kHz, AAC-LC core
	if err := in.WriteTag(flv.Tag{Type: flv.TagAudio, Data: flv.AppendAudioTag(nil, flv.AACSequenceHeader, heAAC)}); err != nil {
		t.Fatal(err)
	}
}
