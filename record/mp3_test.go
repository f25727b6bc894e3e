package record

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// A 3 s MP3 from ffmpeg scans as 3 s; cut in the middle of a frame, the
// broken frame is left out.
func TestScanMP3(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	path := filepath.Join(t.TempDir(), "a.mp3")
	if out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "3", "-c:a", "libmp3lame", "-b:a", "128k", "-write_xing", "0", "-id3v2_version", "0", path).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	data, _ := os.ReadFile(path)
	end, samples, rate := scanMP3(data)
	d := time.Duration(samples) * time.Second / time.Duration(rate)
	if rate != 48000 || end != len(data) || d < 2900*time.Millisecond || d > 3100*time.Millisecond {
		t.Fatalf("scanned %d of %d bytes, %v at %d Hz", end, len(data), d, rate)
	}
	cut, _, _ := scanMP3(data[:len(data)-100])
	if cut >= len(data)-100 || cut < len(data)-1000 {
		t.Fatalf("a cut file kept %d bytes", cut)
	}
}

// An MP3 recording is synced to disk about once a second of audio, as the
// MP4's fragments are, so a power cut loses at most the last second: 5 s
// of audio sync about five times before the file is closed.
func TestAnMP3RecordingIsSyncedEverySecond(t *testing.T) {
	_, audio := benchMedia(t, 5)
	file := &countingFile{}
	out, err := newMP3Out(file, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for i, opus := range audio {
		if err := out.writeAudio(opus, uint32(i*960), time.Duration(i)*20*time.Millisecond, false); err != nil {
			t.Fatal(err)
		}
	}
	if file.written == 0 || file.syncs < 4 || file.syncs > 6 {
		t.Fatalf("%d bytes of %d packets written with %d syncs before closing, want about 5", file.written, len(audio), file.syncs)
	}
	out.close()
}

// countingFile counts what an mp3Out writes and its syncs.
type countingFile struct{ written, syncs int }

func (c *countingFile) Write(b []byte) (int, error) { c.written += len(b); return len(b), nil }
func (c *countingFile) Sync() error                 { c.syncs++; return nil }
func (c *countingFile) Close() error                { return nil }
