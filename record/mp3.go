package record

import (
	"fmt"

	"os"
	"time"
)

// finalizeMP3 keeps the whole MPEG audio frames of a partial MP3 (a crash
// may have cut the last one) and returns their duration.
func finalizeMP3(partial, final string) (time.Duration, int64, error) {
	data, err := os.ReadFile(partial)
	if err != nil {
		return 0, 0, fmt.Errorf("record: %w", err)
	}
	end, samples, rate := scanMP3(data)
	if end == 0 || rate == 0 {
		return 0, 0, fmt.Errorf("record: %s holds no MP3 frames", partial)
	}
	if err := os.WriteFile(final, data[:end], recordingFileMode); err != nil {
		return 0, 0, fmt.Errorf("record: %w", err)
	}
	return time.Duration(samples) * time.Second / time.Duration(rate), int64(end), nil
}

// MPEG-1/2 Layer III tables (ISO/IEC 11172-3, 13818-3).
var (
	mp3Bitrates = [2][16]int{ // kbps by version (0: MPEG-1, 1: MPEG-2/2.5)
		{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0},
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},
	}
	mp3Rates = [4][3]int{{11025, 12000, 8000}, {0, 0, 0}, {22050, 24000, 16000}, {44100, 48000, 32000}} // by version bits
)

// scanMP3 walks frame headers from the start and returns where the last
// whole frame ends, the samples they hold and the sample rate.
func scanMP3(b []byte) (end int, samples int64, rate int) {
	for pos := 0; pos+4 <= len(b); {
		h := b[pos:]
		if h[0] != 0xff || h[1]&0xe0 != 0xe0 || (h[1]>>1)&3 != 1 { // sync, Layer III
			break
		}
		version := (h[1] >> 3) & 3
		br, sr := h[2]>>4, (h[2]>>2)&3
		if version == 1 || sr == 3 || br == 0 || br == 15 {
			break
		}
		v := 0
		perFrame := 1152
		if version != 3 {
			v, perFrame = 1, 576
		}
		rate = mp3Rates[version][sr]
		size := perFrame/8*mp3Bitrates[v][br]*1000/rate + int(h[2]>>1&1)
		if size < 4 || pos+size > len(b) {
			break
		}
		pos += size
		end, samples = pos, samples+int64(perFrame)
	}
	return end, samples, rate
}
