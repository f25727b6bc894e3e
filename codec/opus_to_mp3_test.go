//go:build cgo

package codec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpusToMP3PlaysInFFmpeg(t *testing.T) {
	needTool(t, "ffmpeg")
	needTool(t, "ffprobe")
	for _, tc := range []struct {
		name           string
		channels, rate int
	}{
		{"stereo 48 kHz", 2, 48000},
		{"mono 44.1 kHz", 1, 44100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			freqs := []int{1000, 1500}[:tc.channels]
			packets := opusStream(t, 2, freqs...)
			p, err := NewOpusToMP3(tc.channels, tc.rate, 128000)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			var mp3 []byte
			emit := func(b []byte) { mp3 = append(mp3, b...) }
			for i, pkt := range packets {
				if i == 40 {
					continue // one lost packet
				}
				if err := p.Push(pkt, rtpStart+uint32(i*960), emit); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Flush(emit); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "rec.mp3")
			if err := os.WriteFile(path, mp3, 0o644); err != nil {
				t.Fatal(err)
			}

			probe := strings.TrimSpace(string(runTool(t, "ffprobe", "-v", "error", "-select_streams", "a:0",
				"-show_entries", "stream=codec_name,sample_rate,channels", "-of", "csv=p=0", path)))
			if want := "mp3," + itoa(tc.rate) + "," + itoa(tc.channels); probe != want {
				t.Fatalf("ffprobe says %q, want %q", probe, want)
			}
			pcm := decodeWithFFmpeg(t, path, 48000, tc.channels)
			for c, f := range freqs {
				assertTone(t, channel(pcm, tc.channels, c), 48000, f)
			}
			inMs := float64(len(packets)) * 20
			outMs := float64(len(pcm)/tc.channels) * 1000 / 48000
			// LAME adds up to a frame of padding and its encoder delay.
			if d := outMs - inMs; d < -50 || d > 80 {
				t.Fatalf("%.0f ms of Opus became %.0f ms of MP3", inMs, outMs)
			}
		})
	}
}
