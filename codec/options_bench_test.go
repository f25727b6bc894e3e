//go:build cgo

package codec

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"
	"unsafe"
)

// roundTripVariant is one way an RTMP pusher's audio reaches a viewer:
// the AAC source's rate and channels and the Opus encoder's settings.
type roundTripVariant struct {
	rate, srcCh int
	opts        AACToOpusOptions
	rsQuality   int // speexdsp's 0-10; -1: the default (polyphase below 48 kHz)
}

// today is the setting before these options were measured: complexity 5,
// a mono source as mono, the resampler at quality 3.
func (v roundTripVariant) today() roundTripVariant {
	rs := -1
	if v.rate != opusRate {
		rs = 3
	}
	return roundTripVariant{v.rate, v.srcCh, AACToOpusOptions{Bitrate: v.opts.Bitrate, Complexity: 5, MonoSourceChannels: 1}, rs}
}

func (v roundTripVariant) resampler() string {
	switch {
	case v.rate == opusRate:
		return "none"
	case v.rsQuality < 0:
		return "polyphase"
	}
	return "speex " + strconv.Itoa(v.rsQuality)
}

func (v roundTripVariant) opusChannels() int {
	if v.srcCh == 1 && v.opts.MonoSourceChannels == 2 {
		return 2
	}
	return v.srcCh
}

func (v roundTripVariant) source() string {
	return fmt.Sprintf("%.1f kHz %s", float64(v.rate)/1000, map[int]string{1: "mono", 2: "stereo"}[v.srcCh])
}

// roundTripVariants: complexity 0-10 for the two sources that matter, a
// 44.1 kHz stereo one (ffmpeg's and OBS's default) and a 48 kHz mono one
// (a phone's live-pusher), and the mono one encoded as mono or stereo;
// then the 44.1 kHz source through speexdsp at qualities 0-4 instead of
// the polyphase resampler.
func roundTripVariants(bitrate int) []roundTripVariant {
	var out []roundTripVariant
	for _, src := range []struct{ rate, ch, monoCh int }{{44100, 2, 1}, {48000, 1, 1}, {48000, 1, 2}} {
		for c := range 11 {
			out = append(out, roundTripVariant{src.rate, src.ch,
				AACToOpusOptions{Bitrate: bitrate, Complexity: c, MonoSourceChannels: src.monoCh}, -1})
		}
	}
	for _, c := range []int{DefaultOpusComplexity, 5} {
		for q := range 5 {
			out = append(out, roundTripVariant{44100, 2, AACToOpusOptions{Bitrate: bitrate, Complexity: c, MonoSourceChannels: 1}, q})
		}
		if c == 5 {
			break
		}
	}
	return out
}

// threadCPU is the CPU time of the calling OS thread: with the goroutine
// locked to its thread, the transcoding alone (cgo calls run on the
// caller's thread), not the GC or anything else in the process.
func threadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		panic(e)
	}
	return time.Duration(ts.Nano())
}

// BenchmarkAACToOpusOptions measures every Opus setting against the quality
// it gives, and prints the table the defaults were chosen from. Run it
// with -benchtime 1x:
//
//	go test -run '^$' -bench AACToOpusOptions -benchtime 1x ./codec/
//
// Each round transcodes the three test signals (quality_test.go) with every
// variant in turn, rotating the order, and the CPU figure is the median
// round's: variants are compared under the same conditions on a shared
// machine. BENCH_ROUNDS (default 5) sets the rounds, BENCH_OPUS_BITRATE
// (default 48000, what the RTMP ingest uses) the bitrate.
func BenchmarkAACToOpusOptions(b *testing.B) {
	rounds := 5
	if n, err := strconv.Atoi(os.Getenv("BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	bitrate := 48000
	if n, err := strconv.Atoi(os.Getenv("BENCH_OPUS_BITRATE")); err == nil && n > 0 {
		bitrate = n
	}
	variants := roundTripVariants(bitrate)
	sources := map[[2]int][]*roundTripSource{}
	for _, v := range variants {
		key := [2]int{v.rate, v.srcCh}
		if sources[key] == nil {
			for _, s := range testSignals() {
				sources[key] = append(sources[key], newRoundTripSource(b, s, v.rate, v.srcCh))
			}
		}
	}
	quality := make([][]float64, len(variants)) // per variant, per signal
	cpu := make([][]time.Duration, len(variants))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for range b.N {
		for r := range rounds {
			for i := range variants {
				vi := (i + r*7) % len(variants) // each round starts elsewhere
				v := variants[vi]
				var spent time.Duration
				for _, s := range sources[[2]int{v.rate, v.srcCh}] {
					runtime.GC() // not during the measured stretch
					start := threadCPU()
					p, packets := s.transcode(b, v.opts, v.rsQuality)
					spent += threadCPU() - start
					p.Close()
					if r == 0 {
						quality[vi] = append(quality[vi], s.quality(b, packets, v.opusChannels()))
					}
				}
				cpu[vi] = append(cpu[vi], spent)
			}
		}
	}
	audio := float64(len(testSignals()) * qualitySeconds) // seconds per variant and round
	corePct := func(i int) float64 {
		d := slices.Clone(cpu[i])
		slices.Sort(d)
		return 100 * d[len(d)/2].Seconds() / audio
	}
	fmt.Printf("\nAAC → Opus (%d kbit/s) → decode: transcoder CPU (median of %d interleaved rounds) against quality\n\n", bitrate/1000, rounds)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "AAC source\tresampler\tOpus ch\tcomplexity\t% core/stream\tvs today\t1 kHz SINAD dB\tmusic LSD dB\tspeech LSD dB\t")
	for i, v := range variants {
		ref := slices.Index(variants, v.today())
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.3f\t%.2f\t%.1f\t%.2f\t%.2f\t\n", v.source(), v.resampler(), v.opusChannels(), v.opts.Complexity,
			corePct(i), corePct(i)/corePct(ref), quality[i][0], quality[i][1], quality[i][2])
	}
	tw.Flush()
	fmt.Println()
}
