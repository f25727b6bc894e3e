package live

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/cputime"
	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/sfu"
)

// lastPacket remembers when a sink last got a packet.
type lastPacket struct{ at time.Time }

func (l *lastPacket) WriteRTP(*sfu.Packet) { l.at = time.Now() }

// BenchmarkIngestLatency pushes 10 s of an ffmpeg-made FLV (H.264 baseline
// and AAC 44.1 kHz stereo) through an Ingest into a room, with a sink on
// each track, and reports the time from a tag's arrival to its last RTP
// packet at the sink: the latency the server adds, apart from the 20 ms an
// Opus frame waits to fill. It also reports the ingest's CPU per second of
// media.
//
//	go test -run '^$' -bench IngestLatency -benchtime 1x ./live
func BenchmarkIngestLatency(b *testing.B) {
	tags := ffmpegFLV(b, 10)
	media, err := sfu.New(sfu.Config{Transport: sfu.TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		b.Fatal(err)
	}
	defer media.Close()
	var video, audio []time.Duration
	var cpu time.Duration
	for range b.N {
		pub, _ := media.Join("bench", "pusher", sfu.SourceAudio, sfu.SourceMain)
		viewer, _ := media.Join("bench", "viewer")
		sinks := map[sfu.Source]*lastPacket{sfu.SourceMain: {}, sfu.SourceAudio: {}}
		for k, s := range sinks {
			viewer.Follow("pusher", k, s, nil)
		}
		in := NewIngest(pub, IngestConfig{ID: "pusher"})
		before := cputime.Self()
		for _, t := range tags {
			start := time.Now()
			if err := in.WriteTag(t); err != nil {
				b.Fatal(err)
			}
			kind := map[uint8]sfu.Source{flv.TagVideo: sfu.SourceMain, flv.TagAudio: sfu.SourceAudio}[t.Type]
			if s := sinks[kind]; s != nil && s.at.After(start) {
				if kind == sfu.SourceMain {
					video = append(video, s.at.Sub(start))
				} else {
					audio = append(audio, s.at.Sub(start))
				}
			}
		}
		cpu += cputime.Self() - before
		in.Close()
		pub.Close()
		viewer.Close()
	}
	report := func(name string, d []time.Duration) {
		if len(d) == 0 {
			b.Fatalf("no %s packets reached the sink", name)
		}
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2].Microseconds()), name+"-µs-p50")
		b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), name+"-µs-p99")
		b.ReportMetric(float64(d[len(d)-1].Microseconds()), name+"-µs-max")
	}
	report("video", video)
	report("audio", audio)
	b.ReportMetric(100*cpu.Seconds()/float64(10*b.N), "core-%/stream")
}

// ffmpegFLV makes seconds of live-pusher-like FLV and returns its tags.
func ffmpegFLV(b *testing.B, seconds int) []flv.Tag {
	b.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		b.Skip("ffmpeg is not installed")
	}
	path := filepath.Join(b.TempDir(), "push.flv")
	out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=15",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", time.Duration(seconds*int(time.Second)).String(),
		"-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "baseline", "-b:v", "600k", "-g", "30", "-c:a", "aac", "-ac", "2",
		"-f", "flv", path).CombinedOutput()
	if err != nil {
		b.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(path)
	r := bytes.NewReader(data)
	if _, _, err := flv.ReadHeader(r); err != nil {
		b.Fatal(err)
	}
	var tags []flv.Tag
	for {
		t, err := flv.ReadTag(r, 4<<20)
		if err != nil {
			return tags
		}
		tags = append(tags, t)
	}
}
