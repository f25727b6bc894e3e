package mp4

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkFragmentWriter writes one second of a typical recording per
// op: 25 video frames of 800 kbps (a keyframe every 2 s) and 47 AAC frames
// of 64 kbps, without fsync. allocs/op should be 0 once the fragment
// buffers have grown.
func BenchmarkFragmentWriter(b *testing.B) {
	fw, err := NewFragmentWriterOptions(io.Discard, Options{NoSync: true}, H264Track(testSPS, testPPS), AACTrack(testASC))
	if err != nil {
		b.Fatal(err)
	}
	key := make([]byte, 20000)
	delta := make([]byte, 800000/8/25-(20000-4000)/50) // 800 kbps on average
	audio := make([]byte, 64000/8*1024/48000)
	const video, perSec = 25, 25 + 47
	b.SetBytes(800000/8 + 64000/8)
	b.ReportAllocs()
	vi, ai := 0, 0
	for b.Loop() {
		for range video {
			vt := time.Duration(vi) * 40 * time.Millisecond
			for at := aacTime(ai); at < vt; at = aacTime(ai) {
				if err := fw.WriteAudio(audio, at); err != nil {
					b.Fatal(err)
				}
				ai++
			}
			frame := delta
			if vi%50 == 0 {
				frame = key
			}
			if err := fw.WriteVideo(frame, vt, vi%50 == 0); err != nil {
				b.Fatal(err)
			}
			vi++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perSec), "ns/sample")
}

// aacTime is the time of 48 kHz AAC frame i, exact and without overflow
// for long runs: 375 frames are exactly 8 s.
func aacTime(i int) time.Duration {
	return time.Duration(i/375)*8*time.Second + time.Duration(i%375)*1024*time.Second/48000
}

// BenchmarkFinalize rewrites a minute of the same recording (~6.5 MB) as
// a progressive file; MB/s counts the fragmented input.
func BenchmarkFinalize(b *testing.B) {
	dir := b.TempDir()
	frag := filepath.Join(dir, "frag.mp4")
	f, err := os.Create(frag)
	if err != nil {
		b.Fatal(err)
	}
	fw, err := NewFragmentWriterOptions(f, Options{NoSync: true}, H264Track(testSPS, testPPS), AACTrack(testASC))
	if err != nil {
		b.Fatal(err)
	}
	writeSynthetic(b, fw, 60, 50)
	fw.Close()
	st, _ := f.Stat()
	f.Close()
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Finalize(frag, filepath.Join(dir, "out.mp4")); err != nil {
			b.Fatal(err)
		}
	}
}
