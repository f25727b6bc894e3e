//go:build cgo

package codec

import (
	"fmt"
	"testing"
)

// An RTMP publisher sending AAC-LC at 24 kHz or less (ffmpeg's and OBS's
// choice for 16 kHz speech) is heard by WebRTC viewers: the tone at its
// pitch, on the right ears, for as long as it was sent. faad2 announces
// such streams at twice their rate (in case of implicit SBR) and then
// decodes them at their own, which once made every frame after the first
// fail and the whole stream silence.
func TestLowRateAACLCTranscodesToOpus(t *testing.T) {
	for _, tc := range []struct {
		rate  int
		freqs []int
	}{
		{16000, []int{440}},
		{16000, []int{440, 660}},
		{22050, []int{440}},
		{22050, []int{440, 660}},
		{24000, []int{440}},
		{8000, []int{440}},
	} {
		t.Run(fmt.Sprintf("%d Hz %d ch", tc.rate, len(tc.freqs)), func(t *testing.T) {
			asc, frames := splitADTS(t, ffmpegADTS(t, tc.rate, 2, tc.freqs...))
			p, packets, _ := transcodeAACToOpus(t, asc, frames, rtmpPts(tc.rate))
			ch := len(tc.freqs)
			if p.Channels() != ch {
				t.Fatalf("Opus channels %d, want %d", p.Channels(), ch)
			}
			pcm := decodeOpus(t, packets, ch)
			for c, f := range tc.freqs {
				assertTone(t, channel(pcm, ch, c), 48000, f)
			}
			inMs := float64(len(frames)) * 1024 * 1000 / float64(tc.rate)
			outMs := float64(len(pcm)/ch) * 1000 / 48000
			// faad2 swallows the first AAC frame (128 ms at 8 kHz) and
			// a partly filled 20 ms Opus frame waits for more.
			lag := 1024*1000/float64(tc.rate) + 20
			if d := inMs - outMs; d < 0 || d > lag {
				t.Fatalf("%.0f ms of AAC became %.0f ms of Opus", inMs, outMs)
			}
		})
	}
}
