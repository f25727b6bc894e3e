package mp4_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/trtcd/trtcd/record/mp4"
)

// A recording's life: fragments while it runs, a progressive file after.
func Example() {
	dir, _ := os.MkdirTemp("", "mp4example")
	defer os.RemoveAll(dir)
	fragPath := filepath.Join(dir, "rec.part.mp4")

	f, err := os.Create(fragPath)
	if err != nil {
		log.Fatal(err)
	}
	sps := []byte{0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01,
		0x00, 0x00, 0x03, 0x00, 0x32, 0x0f, 0x16, 0x2e, 0x48}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	asc := []byte{0x11, 0x90} // AAC-LC 48 kHz stereo
	w, err := mp4.NewFragmentWriter(f, mp4.H264Track(sps, pps), mp4.AACTrack(asc))
	if err != nil {
		log.Fatal(err)
	}
	// Both tracks count time from the start of the recording; here the
	// video starts 40 ms after the audio. Each track's times must increase;
	// how the two tracks interleave does not matter.
	for i := range 47 {
		w.WriteAudio([]byte{0x21, 0x10, 0x04}, time.Duration(i)*1024*time.Second/48000)
	}
	for i := range 25 {
		au := []byte{0, 0, 0, 2, 0x41, 0x9a} // AVCC: 4-byte length, NAL unit
		w.WriteVideo(au, 40*time.Millisecond+time.Duration(i)*40*time.Millisecond, i == 0)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	f.Close()

	info, err := mp4.Finalize(fragPath, filepath.Join(dir, "rec.mp4"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d video and %d audio samples, %dx%d, video from %v, %v in all\n",
		info.VideoSamples, info.AudioSamples, info.Width, info.Height, info.VideoStart, info.Duration)
	// Output: 25 video and 47 audio samples, 640x360, video from 40ms, 1.04s in all
}
