package codec

import "fmt"

// aacSampleRates is the MPEG-4 sampling frequency index table
// (ISO/IEC 14496-3 §1.6.3.4).
var aacSampleRates = [...]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// isAACSampleRate reports whether rate is one of the indexed AAC rates.
func isAACSampleRate(rate int) bool {
	for _, r := range aacSampleRates {
		if r == rate {
			return true
		}
	}
	return false
}

// MPEG-4 Audio Object Types (ISO/IEC 14496-3 Table 1.17) this package
// decodes: AAC-LC, and the HE-AAC profiles that add SBR (v1) and SBR with
// Parametric Stereo (v2) on top of an AAC-LC core. faad2 compiles in decoders
// for other types too (Main, LTP, the error-resilient and low-delay ones);
// no live encoder sends them and they are where faad2's bugs were found,
// so no byte of such a stream reaches it.
const (
	aacObjectTypeLC   = 2
	aacObjectTypeSBR  = 5
	aacObjectTypePS   = 29
	aacObjectTypeAuto = 31 // the escape to a 6-bit extension
)

// ErrUnsupportedObjectType refuses an AAC stream that is not AAC-LC or
// HE-AAC (v1 or v2 over an AAC-LC core); it is an ErrInvalidConfig.
var ErrUnsupportedObjectType = fmt.Errorf("%w: only AAC-LC and HE-AAC (v1, v2) are decoded", ErrInvalidConfig)

// audioSpecificConfig holds the fields of an MPEG-4 AudioSpecificConfig this
// package needs; the rest (SBR/PS payloads, GASpecificConfig) is faad2's.
type audioSpecificConfig struct {
	objectType    int
	sampleRate    int // the AAC core's
	channelConfig int // 0 = defined by a PCE, 1-7 per the standard table
	// extensionRate is what an HE-AAC config's SBR outputs; 0 otherwise.
	extensionRate int
	// coreObjectType is what an HE-AAC config's SBR extends; objectType
	// otherwise.
	coreObjectType int
}

// parseASC reads the fields of an AudioSpecificConfig up to the core
// object type (ISO/IEC 14496-3 §1.6.2.1), so that broken configs and
// object types faad2 is not trusted with are refused before they reach it.
func parseASC(b []byte) (audioSpecificConfig, error) {
	var c audioSpecificConfig
	r := bitReader{b: b}
	c.objectType = r.objectType()
	c.sampleRate = r.sampleRate()
	c.channelConfig = r.read(4)
	c.coreObjectType = c.objectType
	if c.objectType == aacObjectTypeSBR || c.objectType == aacObjectTypePS {
		c.extensionRate = r.sampleRate() // extensionSamplingFrequency: what SBR doubles to
		c.coreObjectType = r.objectType()
	}
	switch {
	case r.overrun:
		return c, fmt.Errorf("%w: %d bytes is too short", ErrInvalidConfig, len(b))
	case c.objectType == 0:
		return c, fmt.Errorf("%w: object type 0", ErrInvalidConfig)
	case c.objectType != aacObjectTypeLC && c.objectType != aacObjectTypeSBR && c.objectType != aacObjectTypePS:
		return c, fmt.Errorf("%w: object type %d", ErrUnsupportedObjectType, c.objectType)
	case c.coreObjectType != aacObjectTypeLC:
		return c, fmt.Errorf("%w: HE-AAC over object type %d", ErrUnsupportedObjectType, c.coreObjectType)
	case !isAACSampleRate(c.sampleRate):
		return c, fmt.Errorf("%w: sample rate %d Hz is not one of the indexed AAC rates (7350-96000 Hz)", ErrInvalidConfig, c.sampleRate)
	case c.extensionRate != 0 && !isAACSampleRate(c.extensionRate) || c.extensionRate == 0 && c.objectType != aacObjectTypeLC:
		return c, fmt.Errorf("%w: SBR sample rate %d Hz is not one of the indexed AAC rates (7350-96000 Hz)", ErrInvalidConfig, c.extensionRate)
	case c.channelConfig > 7:
		return c, fmt.Errorf("%w: channel configuration %d", ErrInvalidConfig, c.channelConfig)
	}
	return c, nil
}

// outputRate is the rate faad2 (with dontUpSampleImplicitSBR) should
// decode this config to: the SBR extension's for explicit HE-AAC, the
// core's otherwise. The first decoded frame has the last word (a stream
// may carry SBR an AAC-LC config does not announce).
func (c audioSpecificConfig) outputRate() int {
	if c.extensionRate != 0 {
		return c.extensionRate
	}
	return c.sampleRate
}

// objectType reads a GetAudioObjectType() field: 5 bits, or 31 and 6 more.
func (r *bitReader) objectType() int {
	if t := r.read(5); t != aacObjectTypeAuto {
		return t
	}
	return 32 + r.read(6)
}

// sampleRate reads a sampling frequency index, or index 15 and 24 bits of
// explicit rate; 0 for a reserved index. parseASC accepts only the indexed
// rates, however they are written: an explicit rate is any number a
// publisher likes, and each distinct one would cost a resampler table
// (see polyphaseFilterFor).
func (r *bitReader) sampleRate() int {
	idx := r.read(4)
	switch {
	case idx == 15:
		return r.read(24)
	case idx < len(aacSampleRates):
		return aacSampleRates[idx]
	}
	return 0
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
