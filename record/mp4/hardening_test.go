package mp4

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

// The duration of an Opus packet comes from its TOC byte only when the
// byte makes sense; otherwise 0 says "unknown" and the timestamp decides.
func TestOpusSamplesFromTOC(t *testing.T) {
	for _, tc := range []struct {
		name   string
		packet []byte
		want   uint32
	}{
		{"empty", nil, 0},
		{"CELT FB 20 ms, one frame", []byte{0xf8}, 960},
		{"SILK NB 60 ms, two frames", []byte{0x19}, 5760},
		{"code 3 without its count byte", []byte{0xfb}, 0},
		{"code 3 of no frames", []byte{0xfb, 0x00}, 0},
		{"code 3 of three 20 ms frames", []byte{0xfb, 0x03}, 2880},
		{"code 3 of 63 frames of 20 ms (1.26 s)", []byte{0xfb, 0x3f}, 0},
		{"code 3 of six 20 ms frames (120 ms)", []byte{0xfb, 0x06}, 5760},
	} {
		if got := opusSamples(tc.packet); got != tc.want {
			t.Errorf("%s (% x): %d samples, want %d", tc.name, tc.packet, got, tc.want)
		}
	}
}

// Recovery keeps the whole fragments in front of a box whose 64-bit size
// is absurd, instead of failing on it (pos + size overflowed int64).
func TestScanKeepsFragmentsBeforeAnAbsurdBox(t *testing.T) {
	w := &fileWriter{}
	fw, err := NewFragmentWriterOptions(w, Options{NoSync: true}, H264Track(testSPS, testPPS))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		fw.WriteVideo([]byte{0, 0, 0, 2, 0x65, byte(i)}, time.Duration(i)*40*time.Millisecond, true)
	}
	fw.Close()
	good := w.Len()
	var junk [16]byte
	binary.BigEndian.PutUint32(junk[:], 1) // a 64-bit size follows
	copy(junk[4:], "free")
	binary.BigEndian.PutUint64(junk[8:], 1<<63-1)
	data := append(w.Bytes(), junk[:]...)
	ff, err := scanFragments(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if info := ff.info(); info.VideoSamples != 3 || ff.end != int64(good) {
		t.Fatalf("kept %d samples up to %d, want 3 up to %d", info.VideoSamples, ff.end, good)
	}
}
