package rtpav

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
		d.push(payload, 1, marker, false)
		d.push(payload, 2, true, false)
	})
}
