//go:build cgo

package codec

import (
	"math/rand/v2"
	"testing"

	"github.com/trtcd/trtcd/internal/cputime"
)

// The benchmarks report "core-%/stream": CPU seconds spent per second of
// audio, ×100, i.e. the share of one core a live stream costs. The budget
// is 1 % per stream. Input is a tone under white noise (-47 dBFS RMS): busier
// than a clean tone (noise at -29 dBFS costs vo-aacenc ~40 % more).
//
// The AAC bitrate is 96 kbit/s stereo, what FLV playback of a 64 kbit/s
// Opus source needs; 128 kbit/s costs about 15 % more.
const (
	benchNoise      = 512
	benchAACBitrate = 96000
)

// reportCorePercent starts the clock; call the returned func after the loop
// with the seconds of audio the loop transcoded.
func reportCorePercent(b *testing.B) func(audioSeconds float64) {
	b.ReportAllocs()
	b.ResetTimer()
	start := cputime.Self()
	return func(audioSeconds float64) {
		cpu := (cputime.Self() - start).Seconds()
		b.ReportMetric(100*cpu/audioSeconds, "core-%/stream")
	}
}

// noisyTone is a 440 Hz tone under white noise, interleaved.
func noisyTone(rate, n, channels int) []int16 {
	rng := rand.New(rand.NewPCG(1, 2))
	pcm := sine(rate, n, make([]int, channels)...)
	tone := sine(rate, n, 440)
	for i := range pcm {
		pcm[i] = tone[i/channels] + int16(rng.IntN(benchNoise)-benchNoise/2)
	}
	return pcm
}

func BenchmarkAACToOpus(b *testing.B) {
	for _, tc := range []struct {
		name           string
		rate, channels int
	}{
		{"44k-stereo", 44100, 2},
		{"48k-mono", 48000, 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			// 2 s of AAC made by our own encoder from noise plus tone.
			enc, err := NewAACEncoder(tc.rate, tc.channels, benchAACBitrate)
			if err != nil {
				b.Fatal(err)
			}
			pcm := noisyTone(tc.rate, 2*tc.rate, tc.channels)
			var frames [][]byte
			buf := make([]byte, 4096)
			step := AACFrameSamples * tc.channels
			for off := 0; off+step <= len(pcm); off += step {
				n, err := enc.Encode(pcm[off:off+step], buf)
				if err != nil {
					b.Fatal(err)
				}
				frames = append(frames, append([]byte(nil), buf[:n]...))
			}
			enc.Close()

			p, err := NewAACToOpus(makeASC(tc.rate, tc.channels), 64000)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			emitted := 0
			emit := func(opus []byte, ts uint32) { emitted += len(opus) }
			for i := range 50 { // warm up: buffers, faad2's first frame
				p.Push(frames[i%len(frames)], uint32(i*1024*1000/tc.rate), emit)
			}
			done := reportCorePercent(b)
			for i := 0; i < b.N; i++ {
				pts := uint32((50 + i) * 1024 * 1000 / tc.rate)
				if err := p.Push(frames[i%len(frames)], pts, emit); err != nil {
					b.Fatal(err)
				}
			}
			done(float64(b.N) * AACFrameSamples / float64(tc.rate))
		})
	}
}

// opusPackets is 2 s of 20 ms Opus packets of noise plus tone.
func opusPackets(b *testing.B, channels int) [][]byte {
	enc, err := NewOpusEncoder(48000, channels, 64000)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	pcm := noisyTone(48000, 96000, channels)
	var packets [][]byte
	buf := make([]byte, OpusMaxPacket)
	for off := 0; off+960*channels <= len(pcm); off += 960 * channels {
		n, err := enc.Encode(pcm[off:off+960*channels], buf)
		if err != nil {
			b.Fatal(err)
		}
		packets = append(packets, append([]byte(nil), buf[:n]...))
	}
	return packets
}

func BenchmarkOpusToAAC(b *testing.B) {
	for _, tc := range []struct {
		name           string
		rate, channels int
	}{
		{"48k-stereo", 48000, 2},
		{"44k-stereo", 44100, 2},
	} {
		b.Run(tc.name, func(b *testing.B) {
			packets := opusPackets(b, 2)
			p, err := NewOpusToAAC(tc.channels, tc.rate, benchAACBitrate)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			emitted := 0
			emit := func(aac []byte, pts uint32) { emitted += len(aac) }
			for i := range 50 {
				p.Push(packets[i%len(packets)], uint32(i*960), emit)
			}
			done := reportCorePercent(b)
			for i := 0; i < b.N; i++ {
				if err := p.Push(packets[i%len(packets)], uint32((50+i)*960), emit); err != nil {
					b.Fatal(err)
				}
			}
			done(float64(b.N) * 0.020)
		})
	}
}

func BenchmarkOpusToMP3(b *testing.B) {
	packets := opusPackets(b, 2)
	p, err := NewOpusToMP3(2, 48000, 128000)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	emitted := 0
	emit := func(mp3 []byte) { emitted += len(mp3) }
	for i := range 50 {
		p.Push(packets[i%len(packets)], uint32(i*960), emit)
	}
	done := reportCorePercent(b)
	for i := 0; i < b.N; i++ {
		if err := p.Push(packets[i%len(packets)], uint32((50+i)*960), emit); err != nil {
			b.Fatal(err)
		}
	}
	done(float64(b.N) * 0.020)
}
