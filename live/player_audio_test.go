//go:build cgo

package live

import (
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/pace"
	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/sfu"
)

// audioTags counts the AAC frames an FLV player is sent.
type audioTags struct{ frames int }

func (s *audioTags) WriteTag(t flv.Tag) error {
	if t.Type == flv.TagAudio && len(t.Data) > 1 && t.Data[1] == byte(flv.AACRaw) {
		s.frames++
	}
	return nil
}

// playOpus publishes n Opus RTP packets, cycling through opus (real ones
// when nil), with timestamps from ts, to an FLV player and returns how many
// AAC frames the player was sent.
func playOpus(t *testing.T, n int, ts func(i int) uint32, opus [][]byte) int {
	t.Helper()
	media := newMedia(t)
	pub := join(t, media, "r", "pusher", sfu.SourceAudio)
	track, err := pub.PublishTrack("pusher/audio", sfu.SourceAudio, OpusCodec, nil)
	if err != nil {
		t.Fatal(err)
	}
	sink := &audioTags{}
	p := newPlayer(join(t, media, "r", "player"), "pusher", sink, PlayConfig{Logger: quiet, NoVideo: true})
	defer p.close()
	if opus == nil {
		opus = realOpus(t)
	}
	src := rtpSource{pt: opusPayloadType, ssrc: 2000}
	var pkt []byte
	for i := range n {
		pkt = src.packet(pkt[:0], 0, 1, 0, opus[i%len(opus)])
		v := ts(i)
		pkt[4], pkt[5], pkt[6], pkt[7] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		track.Write(pkt)
		if err := p.rx.Drain(p.frame); err != nil {
			t.Fatal(err)
		}
	}
	return sink.frames
}

// A WebRTC publisher whose Opus timestamps leap 10 s per 20 ms packet once
// had each FLV player encode 10 s of AAC per packet (50 packets: 23,000
// frames), a core per player. The player now gets about the second of
// audio that was sent.
func TestFLVPlayerOfLeapingTimestampsGetsRealTimeAudio(t *testing.T) {
	start := time.Now()
	frames := playOpus(t, 50, func(i int) uint32 { return uint32(i) * 480000 }, nil)
	// 1 s of packets, the 200 ms jitter allowance and the time that really
	// passed (a gap is filled up to it), in 1024-sample frames.
	if most := int(1200+time.Since(start).Milliseconds()) * 48 / 1024; frames > most {
		t.Fatalf("50 Opus packets (1 s) leaping 10 s each became %d AAC frames, want at most %d", frames, most)
	}
}

// A publisher flooding Opus packets faster than any stream carries has
// only pace.AudioFrames of them a second (and a second's worth at once)
// transcoded for each FLV player, as the ingest and recorder do.
func TestFLVPlayerPacesAudioFrames(t *testing.T) {
	const sent = 1000 // 20 s of 20 ms packets, at once
	start := time.Now()
	frames := playOpus(t, sent, func(i int) uint32 { return uint32(i) * 960 }, nil)
	// Kept: a second's worth, and the pace's worth of the time the test
	// took (long under -race), 20 ms each.
	if most := mostAACFrames(start); frames > most {
		t.Fatalf("%d Opus packets at once became %d AAC frames, want at most %d (%d packets)", sent, frames, most, pace.AudioFrames)
	}
}

// mostAACFrames is how many 1024-sample AAC frames a player may send for
// packets fed from start until now: the 20 ms frames the audio pace lets
// through (a second's worth at once, and its rate since), and the silence
// that fills the gaps the dropped ones leave (at most the 200 ms jitter
// allowance and the time that really passed).
func mostAACFrames(start time.Time) int {
	elapsed := time.Since(start)
	kept := int(pace.AudioFrames*(1+elapsed.Seconds())) + 1
	fill := int(200+elapsed.Milliseconds()) * 48
	return (kept*960+fill)/1024 + 1
}

// sixFold turns 20 ms Opus packets of one frame into 120 ms ones of six
// (code 3, constant bitrate: RFC 6716 §3.2.5), the longest a packet holds.
func sixFold(t *testing.T, packets [][]byte) [][]byte {
	var out [][]byte
	for _, p := range packets {
		if p[0]&3 != 0 {
			t.Fatalf("not a one-frame packet: TOC %#x", p[0])
		}
		long := []byte{p[0] | 3, 6}
		for range 6 {
			long = append(long, p[1:]...)
		}
		out = append(out, long)
	}
	return out
}

// The pace counts audio by its length: 120 ms packets, each costing the
// decoder six 20 ms frames, were kept 200 a second, 24 s of audio to
// decode and encode per second for each FLV player.
func TestFLVPlayerPacesAudioByItsLength(t *testing.T) {
	const sent = 1000 // 120 s of 120 ms packets, at once
	start := time.Now()
	frames := playOpus(t, sent, func(i int) uint32 { return uint32(i) * 5760 }, sixFold(t, realOpus(t)))
	if most := mostAACFrames(start); frames > most {
		t.Fatalf("%d Opus packets of 120 ms at once became %d AAC frames, want at most %d (%d × 20 ms)", sent, frames, most, pace.AudioFrames)
	}
}
