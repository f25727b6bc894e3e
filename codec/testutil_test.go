//go:build cgo

package codec

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// needTool returns the path of an ffmpeg suite tool, skipping the test when
// it is missing unless TRTCD_REQUIRE_FFMPEG=1 (CI) makes that a failure.
func needTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("TRTCD_REQUIRE_FFMPEG") == "1" {
			t.Fatalf("%s not found and TRTCD_REQUIRE_FFMPEG=1: %v", name, err)
		}
		t.Skipf("%s not found: %v", name, err)
	}
	return path
}

// runTool runs an ffmpeg suite tool and returns stdout; anything on stderr
// (they run with -v error) fails the test, since a decoder complaining is
// what a listener would hear as a glitch.
func runTool(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(needTool(t, name), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Fatalf("%s %v complained:\n%s", name, args, stderr.String())
	}
	return stdout.Bytes()
}

// ffmpegADTS encodes lavfi sine sources to AAC-LC in ADTS. freqs gives one
// sine per channel, so channel order can be checked.
func ffmpegADTS(t testing.TB, rate int, seconds float64, freqs ...int) []byte {
	t.Helper()
	args := []string{"-nostdin", "-v", "error"}
	for _, f := range freqs {
		args = append(args, "-f", "lavfi", "-i", sineSource(f, rate))
	}
	if len(freqs) == 2 {
		args = append(args, "-filter_complex", "[0:a][1:a]amerge=inputs=2")
	}
	args = append(args, "-t", ftoa(seconds), "-c:a", "aac", "-b:a", "128k", "-f", "adts", "-")
	return runTool(t, "ffmpeg", args...)
}

func sineSource(freq, rate int) string {
	return "sine=frequency=" + itoa(freq) + ":sample_rate=" + itoa(rate)
}

// splitADTS cuts an ADTS stream into raw AAC frames and builds the
// AudioSpecificConfig (what an RTMP sequence header carries) from the first
// header.
func splitADTS(t testing.TB, b []byte) (asc []byte, frames [][]byte) {
	t.Helper()
	for len(b) > 0 {
		if len(b) < 7 || b[0] != 0xff || b[1]&0xf0 != 0xf0 {
			t.Fatalf("lost ADTS sync with %d bytes left", len(b))
		}
		hdr := 7
		if b[1]&1 == 0 { // protection_absent = 0: CRC follows
			hdr = 9
		}
		size := int(b[3]&3)<<11 | int(b[4])<<3 | int(b[5])>>5
		if size < hdr || size > len(b) {
			t.Fatalf("bad ADTS frame length %d", size)
		}
		if asc == nil {
			objectType := int(b[2]>>6) + 1
			freqIdx := int(b[2]>>2) & 0xf
			channels := int(b[2]&1)<<2 | int(b[3]>>6)
			v := objectType<<11 | freqIdx<<7 | channels<<3
			asc = []byte{byte(v >> 8), byte(v)}
		}
		frames = append(frames, b[hdr:size])
		b = b[size:]
	}
	return asc, frames
}

// writeADTS wraps raw AAC-LC frames in ADTS headers so ffmpeg can read them.
func writeADTS(t testing.TB, asc []byte, frames [][]byte) []byte {
	t.Helper()
	c, err := parseASC(asc)
	if err != nil {
		t.Fatal(err)
	}
	freqIdx := int(asc[0]&7)<<1 | int(asc[1]>>7)
	var out []byte
	for _, f := range frames {
		n := len(f) + 7
		out = append(out, 0xff, 0xf1,
			byte((c.objectType-1)<<6|freqIdx<<2|c.channelConfig>>2),
			byte(c.channelConfig&3<<6|n>>11),
			byte(n>>3), byte(n&7<<5|0x1f), 0xfc)
		out = append(out, f...)
	}
	return out
}

// decodeWithFFmpeg decodes a file to interleaved s16 PCM at rate/channels.
func decodeWithFFmpeg(t testing.TB, path string, rate, channels int) []int16 {
	t.Helper()
	raw := runTool(t, "ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "s16le", "-ac", itoa(channels), "-ar", itoa(rate), "-")
	return bytesToPCM(raw)
}

func bytesToPCM(b []byte) []int16 {
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
	}
	return pcm
}

// sine makes n samples per channel of a tone at 1/4 full scale; channel c
// gets freqs[c].
func sine(rate, n int, freqs ...int) []int16 {
	ch := len(freqs)
	pcm := make([]int16, n*ch)
	for i := range n {
		for c, f := range freqs {
			pcm[i*ch+c] = int16(8192 * math.Sin(2*math.Pi*float64(f)*float64(i)/float64(rate)))
		}
	}
	return pcm
}

// channel extracts one channel of interleaved PCM as float64.
func channel(pcm []int16, channels, c int) []float64 {
	out := make([]float64, len(pcm)/channels)
	for i := range out {
		out[i] = float64(pcm[i*channels+c])
	}
	return out
}

// goertzelPower is the power of x at freq (one DFT bin, any frequency).
func goertzelPower(x []float64, rate, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/rate)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+coeff*s1-s2, s1
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}

// dominantFrequency scans 100-2000 Hz in 1 Hz steps.
func dominantFrequency(x []float64, rate int) int {
	best, bestP := 0, -1.0
	for f := 100; f <= 2000; f++ {
		if p := goertzelPower(x, float64(rate), float64(f)); p > bestP {
			best, bestP = f, p
		}
	}
	return best
}

// toneQuality is the share of x's energy at freq (1 for a pure tone with a
// whole number of cycles in x) and x's RMS level.
func toneQuality(x []float64, rate, freq int) (purity, rms float64) {
	var energy float64
	for _, v := range x {
		energy += v * v
	}
	if energy == 0 {
		return 0, 0
	}
	n := float64(len(x))
	return 2 * goertzelPower(x, float64(rate), float64(freq)) / (n * energy), math.Sqrt(energy / n)
}

// assertTone checks what a listener would hear on one channel: the tone
// (dominant frequency within ±10 Hz over the middle half second) steady
// through every 100 ms window, with no dropout or crackle (≥ 97 % of each
// window's energy at the tone, so a 3 ms gap fails; RMS above 1000, about
// -30 dBFS). The first and last 100 ms are left out: codec warm-up and the
// cut at the end.
func assertTone(t *testing.T, x []float64, rate, freq int) {
	t.Helper()
	win := rate / 10
	if len(x) < 5*win {
		t.Fatalf("only %d samples (%.0f ms)", len(x), 1000*float64(len(x))/float64(rate))
	}
	mid := x[len(x)/2-rate/4 : len(x)/2+rate/4]
	if got := dominantFrequency(mid, rate); got < freq-10 || got > freq+10 {
		t.Fatalf("dominant frequency %d Hz, want %d ± 10 Hz", got, freq)
	}
	for start := win; start+2*win <= len(x); start += win {
		purity, rms := toneQuality(x[start:start+win], rate, freq)
		if purity < 0.97 || rms < 1000 {
			t.Fatalf("window at %d ms: %.0f%% of energy at %d Hz, RMS %.0f: dropout or distortion",
				1000*start/rate, 100*purity, freq, rms)
		}
	}
}

func itoa(v int) string { return strconv.Itoa(v) }

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
