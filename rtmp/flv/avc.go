package flv

import (
	"encoding/binary"
	"fmt"
)

// AVCConfig is a parsed AVCDecoderConfigurationRecord (ISO 14496-15 5.2.4.1),
// the body of the H.264 sequence header tag.
type AVCConfig struct {
	Profile              uint8 // AVCProfileIndication
	ProfileCompatibility uint8
	Level                uint8 // AVCLevelIndication
	NALULengthSize       int   // 1, 2 or 4 bytes per AVCC length prefix
	SPS                  [][]byte
	PPS                  [][]byte
}

// ParseAVCConfig parses an AVCDecoderConfigurationRecord. The SPS/PPS slices
// alias b. Trailing high-profile extension bytes are ignored.
func ParseAVCConfig(b []byte) (AVCConfig, error) {
	if len(b) < 7 {
		return AVCConfig{}, fmt.Errorf("%w: %d bytes", ErrBadAVCConfig, len(b))
	}
	if b[0] != 1 {
		return AVCConfig{}, fmt.Errorf("%w: configurationVersion %d", ErrBadAVCConfig, b[0])
	}
	c := AVCConfig{Profile: b[1], ProfileCompatibility: b[2], Level: b[3]}
	c.NALULengthSize = int(b[4]&0x03) + 1
	if c.NALULengthSize == 3 {
		// 3 is reserved by the spec; no decoder accepts it.
		return AVCConfig{}, fmt.Errorf("%w: NALU length size 3", ErrBadAVCConfig)
	}
	var err error
	rest := b[5:]
	if c.SPS, rest, err = parseParamSets(rest, int(rest[0]&0x1f)); err != nil {
		return AVCConfig{}, fmt.Errorf("SPS: %w", err)
	}
	if len(rest) < 1 {
		return AVCConfig{}, fmt.Errorf("%w: no PPS count", ErrBadAVCConfig)
	}
	if c.PPS, _, err = parseParamSets(rest, int(rest[0])); err != nil {
		return AVCConfig{}, fmt.Errorf("PPS: %w", err)
	}
	if len(c.SPS) == 0 || len(c.PPS) == 0 {
		return AVCConfig{}, fmt.Errorf("%w: %d SPS, %d PPS", ErrBadAVCConfig, len(c.SPS), len(c.PPS))
	}
	if err := checkParamSets(c.SPS, nalSPS, minSPS, maxParamSet); err != nil {
		return AVCConfig{}, err
	}
	if err := checkParamSets(c.PPS, nalPPS, minPPS, maxParamSet); err != nil {
		return AVCConfig{}, err
	}
	return c, nil
}

// NAL unit types of the parameter sets (ITU-T H.264 table 7-1).
const (
	nalSPS = 7
	nalPPS = 8
)

// minSPS: an SPS starts with its header, profile, constraints and level,
// which the record and every sample description copy. minPPS: a PPS has its
// header and at least its own and its SPS's ids.
const (
	minSPS = 4
	minPPS = 2
)

// maxParamSet bounds an SPS or PPS: full scaling lists and a VUI with HRD
// parameters stay under it, and encoders write tens of bytes. The ingest
// sends both ahead of every keyframe, so a pusher's 64 KB ones would turn
// each one-byte keyframe into 128 KB for every viewer and recording.
const maxParamSet = 2048

// checkParamSets refuses a parameter set list holding something else: the
// decoders and muxers it is handed to read it as an SPS or a PPS.
func checkParamSets(sets [][]byte, nalType byte, minLen, maxLen int) error {
	for i, s := range sets {
		if len(s) < minLen || len(s) > maxLen || s[0]&0x1f != nalType {
			return fmt.Errorf("%w: parameter set %d (%d bytes, NAL type %d) where type %d is due", ErrBadAVCConfig, i, len(s), s[0]&0x1f, nalType)
		}
	}
	return nil
}

// parseParamSets reads n 16-bit-length-prefixed parameter sets after the
// count byte at b[0].
func parseParamSets(b []byte, n int) ([][]byte, []byte, error) {
	b = b[1:]
	sets := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		if len(b) < 2 {
			return nil, nil, fmt.Errorf("%w: truncated length of set %d", ErrBadAVCConfig, i)
		}
		l := int(binary.BigEndian.Uint16(b))
		if l == 0 || len(b)-2 < l {
			return nil, nil, fmt.Errorf("%w: set %d of %d bytes, %d left", ErrBadAVCConfig, i, l, len(b)-2)
		}
		sets = append(sets, b[2:2+l:2+l])
		b = b[2+l:]
	}
	return sets, b, nil
}

// BuildAVCConfig builds a record with 4-byte NALU lengths from one SPS and one
// PPS (without start codes). Profile and level are copied from the SPS.
func BuildAVCConfig(sps, pps []byte) ([]byte, error) {
	if len(sps) < 4 || len(sps) > 0xffff || len(pps) == 0 || len(pps) > 0xffff {
		return nil, fmt.Errorf("%w: SPS %d bytes, PPS %d bytes", ErrBadAVCConfig, len(sps), len(pps))
	}
	b := make([]byte, 0, 11+len(sps)+len(pps))
	b = append(b, 1, sps[1], sps[2], sps[3], 0xfc|3, 0xe0|1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(sps)))
	b = append(b, sps...)
	b = append(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(pps)))
	return append(b, pps...), nil
}

// SplitAVCC splits length-prefixed NAL units. The result aliases b. A prefix
// that points past the end of b is an error rather than a short NAL unit,
// because a decoder fed a cut NAL unit produces garbage. A zero length
// carries nothing and is skipped: every NAL unit returned has its header
// byte, so callers may read it.
func SplitAVCC(b []byte, lengthSize int) ([][]byte, error) {
	if lengthSize != 1 && lengthSize != 2 && lengthSize != 4 {
		return nil, fmt.Errorf("%w: length size %d", ErrBadNALU, lengthSize)
	}
	var nalus [][]byte
	for len(b) > 0 {
		if len(b) < lengthSize {
			return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadNALU, len(b))
		}
		var n uint64
		for _, c := range b[:lengthSize] {
			n = n<<8 | uint64(c)
		}
		b = b[lengthSize:]
		if n > uint64(len(b)) {
			return nil, fmt.Errorf("%w: length %d, %d bytes left", ErrBadNALU, n, len(b))
		}
		if n > 0 {
			nalus = append(nalus, b[:n:n])
		}
		b = b[n:]
	}
	return nalus, nil
}

// AppendAVCC appends nalus with lengthSize-byte length prefixes to dst.
func AppendAVCC(dst []byte, lengthSize int, nalus ...[]byte) ([]byte, error) {
	if lengthSize != 1 && lengthSize != 2 && lengthSize != 4 {
		return dst, fmt.Errorf("%w: length size %d", ErrBadNALU, lengthSize)
	}
	for _, n := range nalus {
		l := uint64(len(n))
		if l>>(8*lengthSize) != 0 {
			return dst, fmt.Errorf("%w: %d bytes do not fit a %d-byte length", ErrBadNALU, l, lengthSize)
		}
		for i := lengthSize - 1; i >= 0; i-- {
			dst = append(dst, byte(l>>(8*i)))
		}
		dst = append(dst, n...)
	}
	return dst, nil
}
