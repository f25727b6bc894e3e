package codec

// DefaultOpusComplexity is the libopus encoder complexity (0-10) of
// transcoded audio unless configured. Measured by BenchmarkAACToOpusOptions
// (48 kbit/s, 44.1 kHz stereo and 48 kHz mono AAC sources): quality is flat
// from 0 to 4 and steps up at 5, where CELT's pitch pre-filter starts (a
// 1 kHz tone's SINAD 32 → 43 dB, music and speech spectral distance
// 0.4-0.5 dB closer); cost steps up at 7, where the signal analysis starts
// (×2-3). 0 is the cheapest: the Opus encoder at 0 costs about half of 5
// (a stereo stream 0.2 % of a core against 0.45-0.6 %), which takes about
// a sixth off an RTMP pusher's whole cost per stream (BenchmarkRTMPIngestCPU).
// Operators who want the better tone and speech set 5.
const DefaultOpusComplexity = 0

// ValidOpusComplexity reports whether libopus accepts c as a complexity.
func ValidOpusComplexity(c int) bool { return c >= 0 && c <= 10 }

// AACToOpusOptions choose how an AACToOpus encodes. The zero value, with
// a Bitrate, is the default: complexity 0, a mono source as mono.
type AACToOpusOptions struct {
	Bitrate    int // Opus bit/s, 6000-510000
	Complexity int // libopus encoder complexity, 0-10 (DefaultOpusComplexity)
	// MonoSourceChannels is the Opus channel count for a mono AAC source:
	// 1 (0 means 1) or 2, the mono signal on both channels. Mono is the
	// default: at the same bitrate it costs about two thirds of the CPU
	// and measures closer to the source (BenchmarkAACToOpusOptions), and
	// every opus/48000/2 receiver plays it on both ears. A stereo source
	// is always encoded as stereo.
	MonoSourceChannels int
}
