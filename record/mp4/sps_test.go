package mp4

import (
	"encoding/hex"
	"testing"
)

// SPSs from libx264 (ffmpeg 5.1), one per feature the parser must handle.
var spsCases = []struct {
	name          string
	hex           string
	width, height int
}{
	// 360 is not a multiple of 16: frame cropping; emulation prevention bytes.
	{"baseline 640x360", "6742c01ed900a02ff97011000003000100000300320f162e48", 640, 360},
	{"high 1920x1080", "67640028acd940780227e5c044000003000400000300c83c60c658", 1920, 1080},
	{"main 176x144", "674d400beca162760220000003002000000641e28532c0", 176, 144},
	// 4:4:4: chroma_format_idc 3 changes the crop unit.
	{"high444 1280x720", "67f4001f919b280a00b76022000003000200000300641e30632c", 1280, 720},
	// Field coding: frame_mbs_only_flag 0 doubles the map units.
	{"interlaced 720x576", "6764001eacd940b424d8088000000300800000190f8a14cb", 720, 576},
}

func TestSPSGivesPictureSize(t *testing.T) {
	for _, c := range spsCases {
		t.Run(c.name, func(t *testing.T) {
			nal, _ := hex.DecodeString(c.hex)
			s, err := parseSPS(nal)
			if err != nil {
				t.Fatal(err)
			}
			if s.width != c.width || s.height != c.height {
				t.Errorf("%dx%d, want %dx%d", s.width, s.height, c.width, c.height)
			}
			if s.profile != nal[1] || s.level != nal[3] {
				t.Errorf("profile %d level %d", s.profile, s.level)
			}
		})
	}
}

func TestUnreadableSPSIsAnErrorNotAPanic(t *testing.T) {
	nal, _ := hex.DecodeString(spsCases[1].hex)
	for n := 0; n < len(nal)-4; n++ {
		if _, err := parseSPS(nal[:n]); err == nil {
			// A cut SPS may still parse if only the VUI is missing;
			// it must never report a size of zero.
			if s, _ := parseSPS(nal[:n]); s.width == 0 || s.height == 0 {
				t.Errorf("cut at %d: no error and no size", n)
			}
		}
	}
	if _, err := parseSPS([]byte{0x68, 0xce, 0x3c, 0x80}); err == nil {
		t.Error("a PPS parsed as an SPS")
	}
	if _, err := parseSPS([]byte{0x67, 0x42, 0, 0x1e, 0, 0, 0, 0, 0}); err == nil {
		t.Error("an exp-Golomb code of all zeros parsed")
	}
}

func TestExpGolomb(t *testing.T) {
	// 1 → 0, 010 → 1, 011 → 2, 00100 → 3, 00111 → 6; se: 010 → 1, 011 → -1.
	r := bitReader{b: []byte{0b1010_0110, 0b0100_0011, 0b1010_0110}}
	for _, want := range []uint32{0, 1, 2, 3, 6} {
		if got := r.ue(); got != want || r.err != nil {
			t.Fatalf("ue = %d, want %d (%v)", got, want, r.err)
		}
	}
	for _, want := range []int32{1, -1} {
		if got := r.se(); got != want {
			t.Fatalf("se = %d, want %d", got, want)
		}
	}
}
