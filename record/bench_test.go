package record

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/trtcd/trtcd/internal/cputime"
	"github.com/trtcd/trtcd/rtpframe"
	"github.com/trtcd/trtcd/sfu"
)

// BenchmarkRecord50Streams records 50 publishers at once, each sending
// 800 kbps H.264 and Opus (real media made by ffmpeg) in real time for
// 10 s, and reports the process CPU per stream, the bytes written per
// second, the packets the recorders could not take, and the shortest file.
//
//	go test -run '^$' -bench Record50Streams -benchtime 1x ./record
func BenchmarkRecord50Streams(b *testing.B) {
	const streams, seconds = 50, 10
	video, audio := benchMedia(b, seconds)
	media, err := sfu.New(sfu.Config{Transport: sfu.TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		b.Fatal(err)
	}
	defer media.Close()
	for range b.N {
		dir := b.TempDir()
		rec, err := New(Config{Dir: dir, SFU: media, ResumeWindow: time.Second,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		before, start := cputime.Self(), time.Now()
		for i := range streams {
			room, user := "bench/"+string(rune('A'+i/26))+string(rune('a'+i%26)), "pub"
			pub, _ := media.Join(room, user, sfu.SourceAudio, sfu.SourceMain)
			rec.Start(Request{SDKAppID: 1, Room: room, RoomKey: room, UserID: user, RecordID: "bench" + room[6:]})
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer pub.Close()
				sendMedia(pub, video, audio)
			}()
		}
		wg.Wait()
		cpu, wall := cputime.Self()-before, time.Since(start)
		rec.mu.Lock()
		var dropped uint64
		for _, s := range rec.sessions {
			dropped += s.rx.Dropped()
		}
		rec.mu.Unlock()
		rec.Close() // finalises every file
		store, err := OpenStore(filepath.Join(dir, "index.db"))
		if err != nil {
			b.Fatal(err)
		}
		files, _ := store.Files(func(*File) bool { return true })
		store.Close()
		var bytes int64
		shortest := float64(seconds)
		for _, f := range files {
			bytes += f.Size
			shortest = min(shortest, f.Duration)
		}
		if len(files) != streams {
			b.Fatalf("%d files for %d streams", len(files), streams)
		}
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds()/streams, "core-%/stream")
		b.ReportMetric(float64(bytes)/wall.Seconds()/1e6, "MB/s-written")
		b.ReportMetric(float64(dropped), "packets-dropped")
		b.ReportMetric(shortest, "shortest-file-s")
	}
}

// sendMedia publishes access units at 25 a second and Opus every 20 ms.
func sendMedia(pub *sfu.Session, video [][]byte, audio [][]byte) {
	vt, _ := pub.PublishTrack("v", sfu.SourceMain, sfu.Codec{MimeType: sfu.MimeH264, ClockRate: 90000, SDPFmtpLine: "packetization-mode=1"}, nil)
	at, _ := pub.PublishTrack("a", sfu.SourceAudio, sfu.Codec{MimeType: sfu.MimeOpus, ClockRate: 48000, Channels: 2}, nil)
	vp, ap := rtpframe.Packetizer{PayloadType: 102, SSRC: 1}, rtpframe.Packetizer{PayloadType: 111, SSRC: 2}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := range audio {
		<-tick.C
		at.Write(ap.Packet(uint32(i*960), false, audio[i]))
		if i%2 == 0 && i/2 < len(video) {
			nalus := splitAnnexB(video[i/2])
			for j, n := range nalus {
				vp.PacketizeNALU(n, uint32(i/2*3600), j == len(nalus)-1, vt.Write)
			}
		}
	}
	pub.Unpublish(vt)
	pub.Unpublish(at)
}

// benchMedia makes seconds of 800 kbps H.264 (access units, Annex B) and
// 20 ms Opus packets with ffmpeg.
func benchMedia(b testing.TB, seconds int) (video, audio [][]byte) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		b.Skip("ffmpeg is not installed")
	}
	dir := b.TempDir()
	h264, ogg := filepath.Join(dir, "v.h264"), filepath.Join(dir, "a.ogg")
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", strconv.Itoa(seconds), "-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "baseline",
			"-b:v", "800k", "-g", "50", "-f", "h264", h264},
		{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", strconv.Itoa(seconds), "-c:a", "libopus", "-frame_duration", "20", "-page_duration", "20000", ogg},
	} {
		if out, err := exec.Command("ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
			b.Fatalf("ffmpeg: %v %s", err, out)
		}
	}
	data, _ := os.ReadFile(h264)
	r, _ := h264reader.NewReader(bytes.NewReader(data))
	var au []byte
	for {
		nal, err := r.NextNAL()
		if err != nil {
			break
		}
		au = append(append(au, 0, 0, 0, 1), nal.Data...)
		if nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr || nal.UnitType == h264reader.NalUnitTypeCodedSliceNonIdr {
			video, au = append(video, au), nil
		}
	}
	f, _ := os.Open(ogg)
	defer f.Close()
	or, _, _ := oggreader.NewWith(f)
	for {
		page, _, err := or.ParseNextPage()
		if err != nil {
			break
		}
		if len(page) > 0 && !bytes.HasPrefix(page, []byte("OpusTags")) {
			audio = append(audio, page)
		}
	}
	return video, audio
}

func splitAnnexB(b []byte) [][]byte {
	var out [][]byte
	for _, part := range bytes.Split(b, []byte{0, 0, 0, 1}) {
		if len(part) > 0 {
			out = append(out, part)
		}
	}
	return out
}
