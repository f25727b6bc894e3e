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
	// Small seeds: the fuzzer minimises every new input, and that is slow
	// for the ~100 KB of a realistic second.
	for _, gop := range []int{0, 5} {
		w := &fileWriter{}
		fw, err := NewFragmentWriterOptions(w, Options{FragmentDuration: 200 * time.Millisecond}, H264Track(testSPS, testPPS), AACTrack(testASC))
		if err != nil {
			f.Fatal(err)
		}
		for i := range 15 {
			at := time.Duration(i) * 1024 * time.Second / 48000
			fw.WriteAudio([]byte{0x21, byte(i)}, at)
			if i%2 == 0 {
				fw.WriteVideo([]byte{0, 0, 0, 2, 0x65, byte(i)}, at, gop == 0 || i%gop == 0)
			}
		}
		fw.Close()
		whole := w.Bytes()
		f.Add(whole)
		f.Add(whole[:len(whole)-10])
		f.Add(whole[:len(whole)/2])
		f.Add(append(whole[:len(whole):len(whole)], 0, 0, 0, 0, 0, 0, 0, 0))
	}
	aw := &fileWriter{}
	fw, _ := NewFragmentWriter(aw, OpusTrack(2))
	for i := range 20 {
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
