package mp4

import "fmt"

// Codec names the codec of a track.
type Codec int

// Codecs the writer can put in a sample entry.
const (
	CodecH264 Codec = iota + 1 // avc1
	CodecAAC                   // mp4a with esds
	CodecOpus                  // Opus with dOps
)

func (c Codec) String() string {
	switch c {
	case CodecH264:
		return "h264"
	case CodecAAC:
		return "aac"
	case CodecOpus:
		return "opus"
	}
	return fmt.Sprintf("codec(%d)", int(c))
}

// TrackInfo describes one track. Use H264Track, AACTrack or OpusTrack.
type TrackInfo struct {
	Codec Codec

	// H.264: one SPS and one PPS NAL unit each, header byte included, no
	// start code. Parameter sets that change mid-stream stay in-band in the
	// samples; the sample entry keeps the first ones.
	SPS, PPS []byte

	// AAC: the AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1).
	AudioSpecificConfig []byte

	// Audio: the sample rate (also the track's timescale) and the channel
	// count. H264Track and OpusTrack fill them; AACTrack reads them from the
	// AudioSpecificConfig.
	SampleRate int
	Channels   int
}

// H264Track describes an H.264 video track.
func H264Track(sps, pps []byte) TrackInfo {
	return TrackInfo{Codec: CodecH264, SPS: sps, PPS: pps}
}

// AACTrack describes an AAC track; the sample rate and channel count come
// from the AudioSpecificConfig (zero if it cannot be read, which NewFragmentWriter rejects).
func AACTrack(asc []byte) TrackInfo {
	rate, ch, _ := parseASC(asc)
	return TrackInfo{Codec: CodecAAC, AudioSpecificConfig: asc, SampleRate: rate, Channels: ch}
}

// OpusTrack describes an Opus track; Opus in MP4 always runs at 48 kHz.
func OpusTrack(channels int) TrackInfo {
	return TrackInfo{Codec: CodecOpus, SampleRate: 48000, Channels: channels}
}

func (t TrackInfo) isVideo() bool { return t.Codec == CodecH264 }

// timescale is the track's clock: 90 kHz for video, like RTP, so RTP times
// convert exactly; the sample rate for audio, so AAC's 1024-sample frames
// and Opus's 960-sample (20 ms) packets have integer durations.
func (t TrackInfo) timescale() uint32 {
	if t.isVideo() {
		return 90000
	}
	return uint32(t.SampleRate)
}

// defaultDuration is the sample duration used before two samples of a track
// give a real one: 1/30 s of video, one frame of audio.
func (t TrackInfo) defaultDuration() uint32 {
	switch t.Codec {
	case CodecH264:
		return 3000
	case CodecAAC:
		return 1024
	}
	return 960
}

func (t TrackInfo) validate() error {
	switch t.Codec {
	case CodecH264:
		if len(t.SPS) < 4 || len(t.PPS) < 1 || len(t.SPS) > 0xffff || len(t.PPS) > 0xffff {
			return fmt.Errorf("%w: h264 needs an SPS and a PPS", ErrBadTrack)
		}
	case CodecAAC:
		if len(t.AudioSpecificConfig) < 2 || len(t.AudioSpecificConfig) > 64 {
			return fmt.Errorf("%w: aac needs an AudioSpecificConfig", ErrBadTrack)
		}
	case CodecOpus:
		if t.SampleRate != 48000 {
			return fmt.Errorf("%w: opus runs at 48000 Hz, not %d", ErrBadTrack, t.SampleRate)
		}
	default:
		return fmt.Errorf("%w: %v", ErrBadTrack, t.Codec)
	}
	if t.Codec == CodecOpus && t.Channels > 2 {
		return fmt.Errorf("%w: opus with %d channels needs a channel mapping table", ErrBadTrack, t.Channels)
	}
	if !t.isVideo() && (t.SampleRate <= 0 || t.SampleRate > 0xffff || t.Channels < 1 || t.Channels > 8) {
		return fmt.Errorf("%w: %v at %d Hz, %d channels", ErrBadTrack, t.Codec, t.SampleRate, t.Channels)
	}
	return nil
}

// aacRates indexes samplingFrequencyIndex (ISO/IEC 14496-3 Table 1.18).
var aacRates = [...]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// parseASC reads the sample rate and channel count of an AudioSpecificConfig.
// For SBR/PS (HE-AAC) it reports the core rate, which is what the frames'
// 1024 samples count in.
func parseASC(asc []byte) (rate, channels int, err error) {
	if len(asc) < 2 {
		return 0, 0, fmt.Errorf("%w: AudioSpecificConfig too short", ErrBadTrack)
	}
	bits := uint64(0)
	for i := 0; i < 8; i++ {
		bits <<= 8
		if i < len(asc) {
			bits |= uint64(asc[i])
		}
	}
	pos := 0
	read := func(n int) int {
		v := int(bits >> (64 - pos - n) & (1<<n - 1))
		pos += n
		return v
	}
	if read(5) == 31 { // audioObjectType escape
		read(6)
	}
	idx := read(4)
	if idx == 15 {
		rate = read(24)
	} else if idx < len(aacRates) {
		rate = aacRates[idx]
	}
	channels = read(4)
	if channels == 7 { // channelConfiguration 7 is 7.1: eight channels
		channels = 8
	}
	if rate == 0 || channels == 0 {
		return 0, 0, fmt.Errorf("%w: unsupported AudioSpecificConfig %x", ErrBadTrack, asc)
	}
	return rate, channels, nil
}

// frameDuration is the nominal duration of an audio frame in the track's
// timescale, read from the codec rather than from timestamps; 0 if unknown.
func (t TrackInfo) frameDuration(frame []byte) uint32 {
	switch t.Codec {
	case CodecAAC:
		return 1024 // AAC-LC; for HE-AAC the timescale is the core rate, also 1024
	case CodecOpus:
		return opusSamples(frame)
	}
	return 0
}

// maxOpusSamples: RFC 6716 §3.2.5 caps a packet at 120 ms.
const maxOpusSamples = 5760

// opusSamples is an Opus packet's duration at 48 kHz from its TOC byte
// (RFC 6716 §3.1); 0 for a packet too short or too odd to say (a code 3
// packet of no frames, or of more than 120 ms), whose time then comes from
// its timestamp.
func opusSamples(p []byte) uint32 {
	if len(p) == 0 {
		return 0
	}
	config := p[0] >> 3
	var frame uint32 // in 2.5 ms units
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		frame = [4]uint32{4, 8, 16, 24}[config%4]
	case config < 16: // hybrid: 10, 20 ms
		frame = [2]uint32{4, 8}[config%2]
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = [4]uint32{1, 2, 4, 8}[config%4]
	}
	frames := uint32(1)
	switch p[0] & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 {
			return 0
		}
		frames = uint32(p[1] & 0x3f)
	}
	if n := frames * frame * 120; n <= maxOpusSamples {
		return n
	}
	return 0
}
