package flv

import (
	"bytes"
	"errors"
	"testing"
)

// Real SPS/PPS from x264 baseline 320x240 (no start codes).
var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0x99, 0x20}
	testPPS = []byte{0x68, 0xcb, 0x83, 0xcb, 0x20}
)

func TestVideoTagRoundTrip(t *testing.T) {
	for _, v := range []VideoTag{
		{FrameType: FrameKey, AVCPacketType: AVCSequenceHeader, Data: []byte{1, 2, 3}},
		{FrameType: FrameInter, AVCPacketType: AVCNALU, CompositionTime: 80, Data: []byte{0, 0, 0, 1, 0x41}},
		{FrameType: FrameInter, AVCPacketType: AVCNALU, CompositionTime: -40, Data: []byte{0, 0, 0, 1, 0x41}},
		{FrameType: FrameKey, AVCPacketType: AVCEndOfSequence, Data: []byte{}},
		{FrameType: FrameCommand, Data: []byte{0}},
	} {
		got, err := ParseVideoTag(AppendVideoTag(nil, v))
		if err != nil {
			t.Fatal(err)
		}
		if got.FrameType != v.FrameType || got.AVCPacketType != v.AVCPacketType || got.CompositionTime != v.CompositionTime ||
			got.CodecID != CodecAVC || !bytes.Equal(got.Data, v.Data) {
			t.Fatalf("round trip of %+v = %+v", v, got)
		}
	}
}

func TestParseVideoTagRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrShortBody},
		{"VP6 is not H.264", []byte{0x14, 0, 0, 0, 0}, ErrUnsupportedCodec},
		{"enhanced RTMP HEVC", []byte{0x90, 'h', 'v', 'c', '1'}, ErrUnsupportedCodec},
		{"AVC header cut", []byte{0x17, 1, 0}, ErrShortBody},
		{"AVCPacketType 3", []byte{0x17, 3, 0, 0, 0}, ErrBadTag},
	} {
		if _, err := ParseVideoTag(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestAVCConfigRoundTrip(t *testing.T) {
	rec, err := BuildAVCConfig(testSPS, testPPS)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseAVCConfig(rec)
	if err != nil {
		t.Fatal(err)
	}
	if c.Profile != 0x42 || c.Level != 0x0d || c.NALULengthSize != 4 || len(c.SPS) != 1 || len(c.PPS) != 1 ||
		!bytes.Equal(c.SPS[0], testSPS) || !bytes.Equal(c.PPS[0], testPPS) {
		t.Fatalf("parsed %+v", c)
	}
}

func TestParseAVCConfigRefuses(t *testing.T) {
	rec, _ := BuildAVCConfig(testSPS, testPPS)
	bad := func(mod func(b []byte) []byte) []byte { return mod(append([]byte{}, rec...)) }
	for name, in := range map[string][]byte{
		"short":             rec[:6],
		"version 0":         bad(func(b []byte) []byte { b[0] = 0; return b }),
		"length size 3":     bad(func(b []byte) []byte { b[4] = 0xfe; return b }),
		"SPS length beyond": bad(func(b []byte) []byte { b[7] = 0xff; return b }),
		"PPS cut":           rec[:len(rec)-2],
		"no PPS count":      rec[:8+len(testSPS)],
		"zero SPS":          bad(func(b []byte) []byte { b[5] = 0xe0; return b }),
	} {
		if _, err := ParseAVCConfig(in); !errors.Is(err, ErrBadAVCConfig) {
			t.Errorf("%s: err = %v, want ErrBadAVCConfig", name, err)
		}
	}
}

func TestAVCCSplitJoin(t *testing.T) {
	nalus := [][]byte{{0x65, 1, 2, 3}, {0x06, 5}, make([]byte, 300)}
	for _, size := range []int{2, 4} {
		b, err := AppendAVCC(nil, size, nalus...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := SplitAVCC(b, size)
		if err != nil || len(got) != len(nalus) {
			t.Fatalf("size %d: split = %d NALUs, %v", size, len(got), err)
		}
		for i := range got {
			if !bytes.Equal(got[i], nalus[i]) {
				t.Fatalf("size %d: NALU %d differs", size, i)
			}
		}
	}
	if _, err := AppendAVCC(nil, 1, make([]byte, 256)); !errors.Is(err, ErrBadNALU) {
		t.Fatalf("256-byte NALU with 1-byte length: err = %v", err)
	}
	if _, err := SplitAVCC([]byte{0, 0, 0, 9, 1, 2}, 4); !errors.Is(err, ErrBadNALU) {
		t.Fatalf("length beyond buffer: err = %v", err)
	}
	if _, err := SplitAVCC([]byte{0, 0}, 4); !errors.Is(err, ErrBadNALU) {
		t.Fatalf("cut length: err = %v", err)
	}
	if _, err := SplitAVCC(nil, 3); !errors.Is(err, ErrBadNALU) {
		t.Fatalf("length size 3: err = %v", err)
	}
}

func FuzzParseVideoTag(f *testing.F) {
	rec, _ := BuildAVCConfig(testSPS, testPPS)
	f.Add(AppendVideoTag(nil, VideoTag{FrameType: FrameKey, AVCPacketType: AVCSequenceHeader, Data: rec}))
	f.Add(AppendVideoTag(nil, VideoTag{FrameType: FrameKey, AVCPacketType: AVCNALU, Data: []byte{0, 0, 0, 2, 0x65, 0}}))
	f.Add([]byte{0x27, 1, 0xff, 0xff, 0xd8})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseVideoTag(b)
		if err != nil {
			return
		}
		if !bytes.Equal(AppendVideoTag(nil, v), b) {
			t.Fatalf("re-encoding differs")
		}
		switch v.AVCPacketType {
		case AVCSequenceHeader:
			_, _ = ParseAVCConfig(v.Data)
		case AVCNALU:
			nalus, _ := SplitAVCC(v.Data, 4)
			for _, n := range nalus {
				if len(n) == 0 {
					t.Fatal("an empty NAL unit came out")
				}
			}
		}
	})
}

func FuzzParseAVCConfig(f *testing.F) {
	rec, _ := BuildAVCConfig(testSPS, testPPS)
	f.Add(rec)
	f.Add(rec[:9])
	f.Add([]byte{1, 0x64, 0, 0x1f, 0xff, 0xe2, 0, 1, 0x67, 0, 1, 0x67, 2, 0, 1, 0x68, 0, 1, 0x68})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseAVCConfig(b)
		if err != nil {
			return
		}
		if len(c.SPS[0]) < 4 {
			return
		}
		again, err := BuildAVCConfig(c.SPS[0], c.PPS[0])
		if err != nil {
			return // a parameter set too long for one record is fine to refuse
		}
		if _, err := ParseAVCConfig(again); err != nil {
			t.Fatalf("built record does not parse: %v", err)
		}
	})
}

// A zero length prefix carries no NAL unit: it is skipped, so that every
// NAL unit returned has the header byte its users read (the crash of issue
// 16 was a zero length reaching rtpframe.NALType).
func TestSplitAVCCSkipsZeroLengths(t *testing.T) {
	for _, size := range []int{1, 2, 4} {
		zero := make([]byte, size)
		one, _ := AppendAVCC(nil, size, []byte{0x65, 1})
		for name, in := range map[string][]byte{
			"only a zero length":       zero,
			"zero lengths around one":  append(append(append([]byte{}, zero...), one...), zero...),
			"many zero lengths (1 KB)": make([]byte, 1024/size*size),
		} {
			got, err := SplitAVCC(in, size)
			if err != nil {
				t.Fatalf("size %d, %s: %v", size, name, err)
			}
			for _, n := range got {
				if len(n) == 0 {
					t.Fatalf("size %d, %s: an empty NAL unit came out", size, name)
				}
			}
		}
	}
}

// The parameter set lists hold what they say: a record whose "SPS" is
// another NAL type, or too short to carry profile and level, is refused.
func TestParseAVCConfigRefusesWrongParameterSets(t *testing.T) {
	for name, sets := range map[string][2][]byte{
		"PPS in the SPS list":  {testPPS, testPPS},
		"SPS in the PPS list":  {testSPS, testSPS},
		"SPS of 3 bytes":       {{0x67, 0x42, 0xc0}, testPPS},
		"PPS of only a header": {testSPS, {0x68}},
	} {
		rec := []byte{1, 0x42, 0xc0, 0x0d, 0xff, 0xe1}
		rec = append(rec, byte(len(sets[0])>>8), byte(len(sets[0])))
		rec = append(append(rec, sets[0]...), 1, byte(len(sets[1])>>8), byte(len(sets[1])))
		rec = append(rec, sets[1]...)
		if _, err := ParseAVCConfig(rec); !errors.Is(err, ErrBadAVCConfig) {
			t.Errorf("%s: err = %v, want ErrBadAVCConfig", name, err)
		}
	}
}
