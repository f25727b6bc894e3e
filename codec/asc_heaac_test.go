//go:build cgo

package codec

import "testing"

// HE-AAC is accepted because the whole transcoding path handles what faad2
// makes of it: 2048-sample frames at twice the core rate (v1), and
// Parametric Stereo on a mono core mixed back to the config's one channel
// (v2). ffmpeg has no HE-AAC encoder, so the test signals SBR explicitly
// over AAC-LC frames, which faad2 then upsamples; a stream with real SBR
// data has the same frame sizes and rates.
func TestHEAACTranscodesToOpus(t *testing.T) {
	_, frames := splitADTS(t, ffmpegADTS(t, 24000, 1, 440))
	for _, tc := range []struct {
		name     string
		asc      []byte
		channels int
	}{
		{"HE-AAC v1", packASC(aacObjectTypeSBR, 6, 1, 3, aacObjectTypeLC), 1},
		{"HE-AAC v2", packASC(aacObjectTypePS, 6, 1, 3, aacObjectTypeLC), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := NewAACToOpus(tc.asc, 48000)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if tr.Channels() != tc.channels {
				t.Fatalf("%d channels, want %d", tr.Channels(), tc.channels)
			}
			packets := 0
			for i, f := range frames {
				// A 2048-sample frame at 48 kHz is 42.67 ms of audio.
				if err := tr.Push(f, uint32(i*2048*1000/48000), func([]byte, uint32) { packets++ }); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
			}
			// faad2 swallows the first frame; the rest are 2048 samples each.
			if want := (len(frames) - 1) * 2048 / 960; packets != want {
				t.Fatalf("%d Opus packets of 20 ms from %d frames, want %d", packets, len(frames), want)
			}
		})
	}
}
