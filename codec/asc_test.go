package codec

import (
	"errors"
	"testing"
)

// packASC builds an AudioSpecificConfig from its fields; for HE-AAC
// (objectType 5 or 29) extIdx and core follow the channel configuration.
func packASC(objectType, rateIdx, channels, extIdx, core int) []byte {
	v := uint64(objectType)<<59 | uint64(rateIdx)<<55 | uint64(channels)<<51
	n := 13
	if objectType == aacObjectTypeSBR || objectType == aacObjectTypePS {
		v |= uint64(extIdx)<<47 | uint64(core)<<42
		n = 22
	}
	out := make([]byte, (n+3+7)/8) // and the three GASpecificConfig flags, zero
	for i := range out {
		out[i] = byte(v >> (56 - 8*i))
	}
	return out
}

// Only AAC-LC and HE-AAC over an AAC-LC core get past the config check:
// every other object type is refused before faad2 sees a byte of it.
func TestParseASCAcceptsOnlyLCAndHEAAC(t *testing.T) {
	for _, tc := range []struct {
		name string
		asc  []byte
		want error // nil: accepted
	}{
		{"AAC-LC 44.1 kHz stereo (ffmpeg)", []byte{0x12, 0x10}, nil},
		{"AAC-LC with the implicit SBR extension", []byte{0x13, 0x10, 0x56, 0xe5, 0x98}, nil},
		{"HE-AAC v1, explicit", packASC(5, 6, 2, 3, 2), nil},
		{"HE-AAC v2, explicit", packASC(29, 6, 1, 3, 2), nil},
		{"AAC Main", packASC(1, 4, 2, 0, 0), ErrUnsupportedObjectType},
		{"AAC LTP", packASC(4, 4, 2, 0, 0), ErrUnsupportedObjectType},
		{"ER AAC LD", packASC(23, 3, 1, 0, 0), ErrUnsupportedObjectType},
		{"escaped type 42 (USAC)", []byte{0xf9, 0x44, 0x20}, ErrUnsupportedObjectType},
		{"SBR over AAC Main", packASC(5, 6, 2, 3, 1), ErrUnsupportedObjectType},
		{"SBR over ER BSAC", packASC(5, 6, 2, 3, 22), ErrUnsupportedObjectType},
		{"HE-AAC cut before its core type", packASC(5, 6, 2, 3, 2)[:2], ErrInvalidConfig},
		{"object type 0", []byte{0x00, 0x10}, ErrInvalidConfig},
		{"empty", nil, ErrInvalidConfig},
	} {
		_, err := parseASC(tc.asc)
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("%s (% x): refused: %v", tc.name, tc.asc, err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s (% x): err = %v, want %v", tc.name, tc.asc, err, tc.want)
		}
	}
	if !errors.Is(ErrUnsupportedObjectType, ErrInvalidConfig) {
		t.Fatal("callers that check ErrInvalidConfig must see the refusal too")
	}
}

// explicitRateASC is an AudioSpecificConfig whose rate is written out
// (index 15 and 24 bits) rather than indexed: AAC-LC at coreRate, or, with
// sbrRate non-zero, HE-AAC over a 16 kHz core with an explicit SBR rate.
func explicitRateASC(coreRate, sbrRate int) []byte {
	var v uint64
	n := 0
	put := func(x uint64, bits int) { v |= x << (64 - n - bits); n += bits }
	if sbrRate == 0 {
		put(aacObjectTypeLC, 5)
		put(15, 4)
		put(uint64(coreRate), 24)
		put(2, 4) // stereo
	} else {
		put(aacObjectTypeSBR, 5)
		put(8, 4) // 16 kHz core
		put(2, 4)
		put(15, 4)
		put(uint64(sbrRate), 24)
		put(aacObjectTypeLC, 5)
	}
	n += 3 // GASpecificConfig's three flags, zero
	out := make([]byte, (n+7)/8)
	for i := range out {
		out[i] = byte(v >> (56 - 8*i))
	}
	return out
}

// A sample rate the publisher writes out (index 15) is accepted only if it
// is one of the indexed AAC rates: any other number would get its own
// resampler table, and distinct ones kept for the life of the process
// once took 165 MB for 3269 sequence headers.
func TestParseASCAcceptsOnlyIndexedRates(t *testing.T) {
	for _, tc := range []struct {
		name string
		asc  []byte
		ok   bool
	}{
		{"AAC-LC, 44.1 kHz written out", explicitRateASC(44100, 0), true},
		{"AAC-LC, 44101 Hz", explicitRateASC(44101, 0), false},
		{"AAC-LC, 4000 Hz", explicitRateASC(4000, 0), false},
		{"AAC-LC, 16 MHz", explicitRateASC(1<<24-1, 0), false},
		{"HE-AAC, SBR at 32 kHz written out", explicitRateASC(0, 32000), true},
		{"HE-AAC, SBR at 31999 Hz", explicitRateASC(0, 31999), false},
		{"HE-AAC, SBR at 47000 Hz", explicitRateASC(0, 47000), false},
		{"HE-AAC, reserved SBR rate index", packASC(5, 6, 2, 13, 2), false},
	} {
		_, err := parseASC(tc.asc)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s (% x): refused: %v", tc.name, tc.asc, err)
		case !tc.ok && !errors.Is(err, ErrInvalidConfig):
			t.Errorf("%s (% x): err = %v, want ErrInvalidConfig", tc.name, tc.asc, err)
		}
	}
}

// FuzzParseASC: any bytes give a config or an error, and an accepted config
// is one the decoder supports.
func FuzzParseASC(f *testing.F) {
	f.Add([]byte{0x12, 0x10})
	f.Add(packASC(5, 6, 2, 3, 2))
	f.Add(packASC(29, 15, 1, 15, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseASC(b)
		if err != nil {
			return
		}
		if c.coreObjectType != aacObjectTypeLC || !isAACSampleRate(c.sampleRate) || !isAACSampleRate(c.outputRate()) || c.channelConfig > 7 {
			t.Fatalf("accepted %+v", c)
		}
	})
}
