package rtpframe

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// Pictures packetized for RTP (single NAL and FU-A) come back whole from
// the depacketizer, as AVCC; a lost packet spoils only its own picture.
func TestPacketizeDepacketizeRoundTrip(t *testing.T) {
	sps, pps := []byte{0x67, 0x42, 0xe0, 0x1f, 0xaa}, []byte{0x68, 0xce, 0x3c, 0x80}
	idr := append([]byte{0x65}, bytes.Repeat([]byte{0x11, 0x22, 0x33}, 1500)...) // three FU-A fragments
	slice := []byte{0x41, 0x9a, 0x02}
	pictures := [][][]byte{{sps, pps, idr}, {slice}, {slice}}

	w := Packetizer{PayloadType: 102, SSRC: 7}
	var packets [][]byte
	for i, nalus := range pictures {
		for j, n := range nalus {
			w.PacketizeNALU(n, uint32(i*3000), j == len(nalus)-1, func(p []byte) { packets = append(packets, append([]byte(nil), p...)) })
		}
	}
	if len(packets) != 8 {
		t.Fatalf("%d packets, want 8 (SPS, PPS, 4 FU-A, 2 slices)", len(packets))
	}
	for _, p := range packets {
		if len(p) > 1200 {
			t.Fatalf("a %d-byte packet exceeds the 1200-byte budget", len(p))
		}
	}

	var d depacketizer
	var got [][]byte
	var keys []bool
	for i, p := range packets {
		if i == 6 {
			continue // lose the second picture
		}
		ts := binary.BigEndian.Uint32(p[4:])
		au, _, key, ok := d.push(p[12:], ts, p[1]&0x80 != 0, i == 7)
		if ok {
			got, keys = append(got, append([]byte(nil), au...)), append(keys, key)
		}
	}
	if len(got) != 1 || !keys[0] {
		t.Fatalf("got %d pictures (keyframes %v), want the first one only", len(got), keys)
	}
	want := avcc(sps, pps, idr)
	if !bytes.Equal(got[0], want) {
		t.Fatalf("the keyframe came back as %d bytes, want %d", len(got[0]), len(want))
	}
	if !bytes.Equal(d.sps, sps) || !bytes.Equal(d.pps, pps) {
		t.Fatal("parameter sets not remembered")
	}
}

func avcc(nalus ...[]byte) []byte {
	var b []byte
	for _, n := range nalus {
		b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
		b = append(b, n...)
	}
	return b
}

// Garbage payloads never panic and never produce a picture.
func FuzzDepacketizer(f *testing.F) {
	f.Add([]byte{0x7c, 0x85, 1, 2, 3}, true)
	f.Add([]byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x09}, true)
	f.Add([]byte{0x65, 1, 2}, false)
	f.Fuzz(func(t *testing.T, payload []byte, marker bool) {
		var d depacketizer
		for _, ts := range []uint32{1, 1, 2} {
			au, _, _, ok := d.push(payload, ts, marker || ts == 2, false)
			if !ok {
				continue
			}
			// What comes out is AVCC that splits into H.264 NAL units.
			for len(au) > 0 {
				if len(au) < 4 {
					t.Fatalf("%d trailing bytes", len(au))
				}
				n := int(binary.BigEndian.Uint32(au))
				if n == 0 || n > len(au)-4 || !PlainNAL(au[4:4+n]) {
					t.Fatalf("bad NAL unit of %d bytes in % x", n, au)
				}
				au = au[4+n:]
			}
		}
	})
}

// NAL units that are empty or not H.264 are told apart without reading
// past the end: the ingest skips them instead of crashing on them.
func TestNALTypeOfEmptyAndNonH264Units(t *testing.T) {
	if got := NALType(nil); got != 0 {
		t.Fatalf("NALType(nil) = %d, want 0", got)
	}
	for _, tc := range []struct {
		nal   []byte
		plain bool
	}{
		{nil, false}, {[]byte{}, false}, {[]byte{0x00}, false},
		{[]byte{0x65, 1}, true}, {[]byte{0x67}, true}, {[]byte{0x17}, true},
		{[]byte{0x78, 0, 1, 0x65}, false}, {[]byte{0x7c, 0x85}, false}, {[]byte{0x1f}, false},
	} {
		if got := PlainNAL(tc.nal); got != tc.plain {
			t.Errorf("PlainNAL(% x) = %v, want %v", tc.nal, got, tc.plain)
		}
	}
}

// Packets that cannot come from a correct packetizer spoil their picture
// (none is returned) instead of producing malformed AVCC for the players
// and the recorder.
func TestDepacketizerRefusesMalformedPictures(t *testing.T) {
	fuStart := []byte{0x7c, 0x85, 1, 2}
	fuEnd := []byte{0x7c, 0x45, 3, 4}
	for name, payloads := range map[string][][]byte{
		"FU-A start inside an unfinished FU-A": {fuStart, fuStart, fuEnd},
		"single NAL inside an FU-A":            {fuStart, {0x65, 9}, fuEnd},
		"STAP-A inside an FU-A":                {fuStart, {0x78, 0, 2, 0x65, 9}, fuEnd},
		"FU-A of NAL type 0":                   {{0x7c, 0xc0, 1}},
		"FU-A of a STAP-A":                     {{0x7c, 0xd8, 1}},
		"STAP-A holding an FU-A":               {{0x78, 0, 3, 0x7c, 0x85, 1}},
		"STAP-A holding type 0":                {{0x78, 0, 2, 0x00, 1}},
		"FU-A end without its start":           {fuEnd},
		"FU-A that never ends":                 {fuStart},
	} {
		var d depacketizer
		for i, p := range payloads {
			if _, _, _, ok := d.push(p, 1, i == len(payloads)-1, false); ok {
				t.Errorf("%s: a picture came out", name)
			}
		}
		// The next picture is fine again.
		if au, _, key, ok := d.push([]byte{0x65, 7}, 2, true, false); !ok || !key || !bytes.Equal(au, avcc([]byte{0x65, 7})) {
			t.Errorf("%s: the next keyframe came out as % x, %v", name, au, ok)
		}
	}
}

// Parameter sets too short to describe a stream are not remembered: FLV
// and MP4 sample descriptions cannot be built from them.
func TestDepacketizerIgnoresTruncatedParameterSets(t *testing.T) {
	var d depacketizer
	d.push([]byte{0x78, 0, 2, 0x67, 0x42, 0, 1, 0x68}, 1, true, false)
	if d.sps != nil || d.pps != nil {
		t.Fatalf("remembered SPS % x and PPS % x", d.sps, d.pps)
	}
}
