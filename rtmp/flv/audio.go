package flv

import "fmt"

// SoundFormatAAC is the FLV SoundFormat of AAC.
const SoundFormatAAC uint8 = 10

// AACPacketType values.
const (
	AACSequenceHeader uint8 = 0 // Data is an AudioSpecificConfig
	AACRaw            uint8 = 1 // Data is one raw AAC frame (no ADTS header)
)

// AudioTag is a parsed AAC audio tag body.
type AudioTag struct {
	SoundFormat uint8 // always SoundFormatAAC after a successful parse
	// SoundRate, SoundSize and SoundType are the legacy header bits; for AAC
	// they are always 3 (44 kHz), 1 (16 bit), 1 (stereo) and decoders take
	// the real values from the AudioSpecificConfig.
	SoundRate     uint8
	SoundSize     uint8
	SoundType     uint8
	AACPacketType uint8
	Data          []byte // aliases the parsed buffer
}

// ParseAudioTag parses an FLV audio tag body; formats other than AAC are
// refused with ErrUnsupportedCodec.
func ParseAudioTag(b []byte) (AudioTag, error) {
	if len(b) < 1 {
		return AudioTag{}, fmt.Errorf("%w: empty audio tag", ErrShortBody)
	}
	a := AudioTag{SoundFormat: b[0] >> 4, SoundRate: b[0] >> 2 & 3, SoundSize: b[0] >> 1 & 1, SoundType: b[0] & 1}
	if a.SoundFormat != SoundFormatAAC {
		return AudioTag{}, fmt.Errorf("%w: sound format %d", ErrUnsupportedCodec, a.SoundFormat)
	}
	if len(b) < 2 {
		return AudioTag{}, fmt.Errorf("%w: AAC tag without packet type", ErrShortBody)
	}
	a.AACPacketType = b[1]
	if a.AACPacketType > AACRaw {
		return AudioTag{}, fmt.Errorf("%w: AACPacketType %d", ErrBadTag, a.AACPacketType)
	}
	a.Data = b[2:]
	return a, nil
}

// AppendAudioTag appends an AAC audio tag body with the fixed header byte
// 0xAF that the FLV spec requires for AAC.
func AppendAudioTag(dst []byte, packetType uint8, data []byte) []byte {
	dst = append(dst, SoundFormatAAC<<4|3<<2|1<<1|1, packetType)
	return append(dst, data...)
}

// Audio object types.
const (
	AACMain uint8 = 1
	AACLC   uint8 = 2
)

// sampleRates is the MPEG-4 samplingFrequencyIndex table.
var sampleRates = [...]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

const explicitRateIndex = 15

// AudioSpecificConfig holds the fields of an MPEG-4 AudioSpecificConfig
// (ISO 14496-3 1.6.2.1) that a muxer needs.
type AudioSpecificConfig struct {
	ObjectType      uint8 // AACLC for nearly every live stream
	SampleRateIndex uint8 // 0..12, or 15 when SampleRate is explicit
	SampleRate      int   // Hz
	ChannelConfig   uint8 // 1 mono, 2 stereo, ...
}

// ParseAudioSpecificConfig parses the leading fields of an AudioSpecificConfig;
// the object-type-specific part after the channel configuration is ignored.
func ParseAudioSpecificConfig(b []byte) (AudioSpecificConfig, error) {
	r := bitReader{b: b}
	var c AudioSpecificConfig
	ot := r.read(5)
	if ot == 31 { // escape: 6 more bits
		ot = 32 + r.read(6)
	}
	c.ObjectType = uint8(ot)
	c.SampleRateIndex = uint8(r.read(4))
	switch {
	case c.SampleRateIndex == explicitRateIndex:
		c.SampleRate = int(r.read(24))
	case int(c.SampleRateIndex) < len(sampleRates):
		c.SampleRate = sampleRates[c.SampleRateIndex]
	default:
		return AudioSpecificConfig{}, fmt.Errorf("%w: sampling frequency index %d", ErrBadAudioConfig, c.SampleRateIndex)
	}
	c.ChannelConfig = uint8(r.read(4))
	if r.short {
		return AudioSpecificConfig{}, fmt.Errorf("%w: %d bytes", ErrBadAudioConfig, len(b))
	}
	if c.ObjectType == 0 || c.SampleRate == 0 {
		return AudioSpecificConfig{}, fmt.Errorf("%w: object type %d, rate %d", ErrBadAudioConfig, c.ObjectType, c.SampleRate)
	}
	return c, nil
}

// BuildAACLCConfig builds an AAC-LC AudioSpecificConfig (with an empty
// GASpecificConfig). A rate outside the index table is written explicitly.
func BuildAACLCConfig(sampleRate int, channels uint8) ([]byte, error) {
	if sampleRate <= 0 || sampleRate >= 1<<24 || channels == 0 || channels > 7 {
		return nil, fmt.Errorf("%w: rate %d, channels %d", ErrBadAudioConfig, sampleRate, channels)
	}
	w := bitWriter{}
	w.write(uint32(AACLC), 5)
	idx := explicitRateIndex
	for i, r := range sampleRates {
		if r == sampleRate {
			idx = i
			break
		}
	}
	w.write(uint32(idx), 4)
	if idx == explicitRateIndex {
		w.write(uint32(sampleRate), 24)
	}
	w.write(uint32(channels), 4)
	w.write(0, 3) // frameLengthFlag, dependsOnCoreCoder, extensionFlag
	return w.bytes(), nil
}

// bitReader reads big-endian bit fields; reading past the end sets short and
// yields zeros, so parsers check once at the end.
type bitReader struct {
	b     []byte
	pos   int // in bits
	short bool
}

func (r *bitReader) read(n int) uint32 {
	var v uint32
	for i := 0; i < n; i++ {
		if r.pos/8 >= len(r.b) {
			r.short = true
			return 0
		}
		v = v<<1 | uint32(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

type bitWriter struct {
	b   []byte
	pos int
}

func (w *bitWriter) write(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		if w.pos%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (7 - w.pos%8)
		w.pos++
	}
}

func (w *bitWriter) bytes() []byte { return w.b }
