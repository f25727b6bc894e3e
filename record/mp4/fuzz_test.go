package mp4

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"
)

// FuzzScan feeds the fragment scanner arbitrary files: it must never panic
// nor allocate beyond what the file's size justifies, and what it accepts
// must describe samples inside the file that the progressive moov builder
// can take.
func FuzzScan(f *testing.F) {
	for _, gop := range []int{0, 25} {
		w := &fileWriter{}
		fw, err := NewFragmentWriterOptions(w, Options{FragmentDuration: 500 * time.Millisecond}, H264Track(testSPS, testPPS), AACTrack(testASC))
		if err != nil {
			f.Fatal(err)
		}
		writeSynthetic(f, fw, 2, gop)
		fw.Close()
		whole := w.Bytes()
		f.Add(whole)
		f.Add(whole[:len(whole)-100])
		f.Add(whole[:len(whole)/2])
		f.Add(append(whole[:len(whole):len(whole)], 0, 0, 0, 0, 0, 0, 0, 0))
	}
	aw := &fileWriter{}
	fw, _ := NewFragmentWriter(aw, OpusTrack(2))
	for i := range 60 {
		fw.WriteAudio([]byte{0xfc, byte(i)}, time.Duration(i)*20*time.Millisecond)
	}
	fw.Close()
	f.Add(aw.Bytes())

	f.Fuzz(func(t *testing.T, data []byte) {
		ff, err := scanFragments(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		var payload int64
		for _, tr := range ff.tracks {
			for _, s := range tr.samples {
				if s.off < 0 || s.off+int64(s.size) > int64(len(data)) {
					t.Fatalf("sample %d+%d outside a file of %d", s.off, s.size, len(data))
				}
				payload += int64(s.size)
			}
		}
		if ff.end > int64(len(data)) {
			t.Fatalf("end %d past %d", ff.end, len(data))
		}
		ff.info()
		if _, err := progressiveHead(ff, payload); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParseSPS(f *testing.F) {
	for _, c := range spsCases {
		nal, _ := hex.DecodeString(c.hex)
		f.Add(nal)
	}
	f.Fuzz(func(t *testing.T, nal []byte) {
		if s, err := parseSPS(nal); err == nil && (s.width <= 0 || s.height <= 0) {
			t.Fatalf("accepted with size %dx%d", s.width, s.height)
		}
	})
}
