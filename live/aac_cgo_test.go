//go:build cgo

package live

import (
	"bytes"
	"errors"
	"log/slog"
	"os/exec"
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

// An RTMP publisher sending 16 kHz AAC-LC (ffmpeg's and OBS's choice for
// speech) is heard by WebRTC viewers: every frame becomes Opus carrying
// the tone, where faad2's doubled rate once made each one silence.
func TestLowRateAACReachesWebRTCViewers(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed")
	}
	adts, err := exec.Command(ffmpeg, "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000",
		"-t", "1", "-c:a", "aac", "-f", "adts", "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	media := newMedia(t)
	pub := join(t, media, "room", "pusher", sfu.SourceAudio)
	viewer := join(t, media, "room", "viewer")
	sink := &rtpSink{}
	viewer.Follow("pusher", sfu.SourceAudio, sink, nil)
	in := NewIngest(pub, IngestConfig{ID: "pusher", Logger: quiet})
	defer in.Close()
	asc := []byte{0x14, 0x08} // AAC-LC, 16 kHz, mono
	if err := in.WriteTag(flv.Tag{Type: flv.TagAudio, Data: flv.AppendAudioTag(nil, flv.AACSequenceHeader, asc)}); err != nil {
		t.Fatal(err)
	}
	frames := 0
	for len(adts) >= 7 {
		size := int(adts[3]&3)<<11 | int(adts[4])<<3 | int(adts[5])>>5
		tag := flv.Tag{Type: flv.TagAudio, Timestamp: uint32(frames * 64), Data: flv.AppendAudioTag(nil, flv.AACRaw, adts[7:size])}
		if err := in.WriteTag(tag); err != nil {
			t.Fatal(err)
		}
		adts = adts[size:]
		frames++
	}
	dec, err := codec.NewOpusDecoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	sink.mu.Lock()
	packets := sink.packets
	sink.mu.Unlock()
	// 64 ms of audio per AAC frame, less the one faad2 swallows, in 20 ms
	// Opus frames.
	if want := (frames - 1) * 64 / 20; len(packets) < want-1 {
		t.Fatalf("%d AAC frames (%d ms) reached the viewer as %d Opus packets, want %d", frames, frames*64, len(packets), want)
	}
	pcm := make([]int16, codec.OpusMaxFrameSamples)
	var loud int
	for _, p := range packets {
		n, err := dec.Decode(p, pcm)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, v := range pcm[:n] {
			sum += float64(v) * float64(v)
		}
		if sum/float64(n) > 1000*1000 { // RMS above about -30 dBFS
			loud++
		}
	}
	if loud < len(packets)-3 {
		t.Fatalf("only %d of %d Opus packets carry the tone; the rest are silence", loud, len(packets))
	}
}
