package codec

import "fmt"

// aacSampleRates is the MPEG-4 sampling frequency index table
// (ISO/IEC 14496-3 §1.6.3.4).
var aacSampleRates = [...]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// aacObjectTypeLC is the MPEG-4 Audio Object Type of AAC-LC.
const aacObjectTypeLC = 2

// audioSpecificConfig holds the fields of an MPEG-4 AudioSpecificConfig this
// package needs; the rest (SBR/PS extensions, GASpecificConfig) is faad2's.
type audioSpecificConfig struct {
	objectType    int
	sampleRate    int
	channelConfig int // 0 = defined by a PCE, 1-7 per the standard table
}

// parseASC reads the leading fields of an AudioSpecificConfig, so obviously
// broken configs are rejected before they reach faad2.
func parseASC(b []byte) (audioSpecificConfig, error) {
	var c audioSpecificConfig
	r := bitReader{b: b}
	c.objectType = r.read(5)
	if c.objectType == 31 {
		c.objectType = 32 + r.read(6)
	}
	if idx := r.read(4); idx == 15 {
		c.sampleRate = r.read(24)
	} else if idx < len(aacSampleRates) {
		c.sampleRate = aacSampleRates[idx]
	}
	c.channelConfig = r.read(4)
	switch {
	case r.overrun:
		return c, fmt.Errorf("%w: %d bytes is too short", ErrInvalidConfig, len(b))
	case c.objectType == 0:
		return c, fmt.Errorf("%w: object type 0", ErrInvalidConfig)
	case c.sampleRate < 7350 || c.sampleRate > 96000:
		return c, fmt.Errorf("%w: sample rate %d", ErrInvalidConfig, c.sampleRate)
	case c.channelConfig > 7:
		return c, fmt.Errorf("%w: channel configuration %d", ErrInvalidConfig, c.channelConfig)
	}
	return c, nil
}

// makeASC builds the 2-byte AudioSpecificConfig of an AAC-LC stream, or nil
// if the rate has no index (vo-aacenc only accepts indexed rates anyway).
func makeASC(sampleRate, channels int) []byte {
	for idx, r := range aacSampleRates {
		if r == sampleRate {
			v := aacObjectTypeLC<<11 | idx<<7 | channels<<3
			return []byte{byte(v >> 8), byte(v)}
		}
	}
	return nil
}

// bitReader reads big-endian bit fields; reading past the end yields zeros
// and sets overrun.
type bitReader struct {
	b       []byte
	pos     int
	overrun bool
}

func (r *bitReader) read(n int) int {
	v := 0
	for range n {
		i := r.pos >> 3
		if i >= len(r.b) {
			r.overrun = true
			return 0
		}
		v = v<<1 | int(r.b[i]>>(7-r.pos&7)&1)
		r.pos++
	}
	return v
}
