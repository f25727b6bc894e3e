package mp4

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// What a crash, a power loss or a hostile file leaves must scan to the
// whole fragments before it, or to a clear error.

func TestRecordingCutByCrashInItsLastFragmentStillFinalises(t *testing.T) {
	v, a := testH264(t), testAAC(t)
	dir := t.TempDir()
	frag := filepath.Join(dir, "frag.mp4")
	writeFragmented(t, frag, &v, &a, 40*time.Millisecond)
	whole, err := os.ReadFile(frag)
	if err != nil {
		t.Fatal(err)
	}
	full, err := Scan(frag)
	if err != nil {
		t.Fatal(err)
	}
	types, offs := topLevelBoxes(t, frag)
	lastMoof := int64(0)
	for i, typ := range types {
		if typ == "moof" {
			lastMoof = offs[i]
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cuts := []int64{lastMoof + 1, lastMoof + 20, int64(len(whole)) - 1}
	for range 3 {
		cuts = append(cuts, lastMoof+1+rng.Int64N(int64(len(whole))-lastMoof-1))
	}
	for _, cut := range cuts {
		cutPath, out := filepath.Join(dir, "cut.mp4"), filepath.Join(dir, "cut-out.mp4")
		if err := os.WriteFile(cutPath, whole[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		info, err := Finalize(cutPath, out)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if info.Duration < full.Duration-1100*time.Millisecond || info.Ignored != cut-lastMoof {
			t.Errorf("cut at %d of %d: %+v", cut, len(whole), info)
		}
		if msg := ffmpegDecodeErrors(t, out); msg != "" {
			t.Errorf("cut at %d: ffmpeg:\n%s", cut, msg)
		}
		d := seconds(t, ffprobe(t, out).Format.Duration)
		if d < full.Duration.Seconds()-1.1 {
			t.Errorf("cut at %d: ffprobe duration %.3f s of %.3f", cut, d, full.Duration.Seconds())
		}
	}

	// A power loss can leave zeroed blocks after the last good fragment.
	zeroed := append(whole[:len(whole):len(whole)], make([]byte, 4096)...)
	path := filepath.Join(dir, "zeroed.mp4")
	if err := os.WriteFile(path, zeroed, 0o644); err != nil {
		t.Fatal(err)
	}
	if info, err := Finalize(path, filepath.Join(dir, "zeroed-out.mp4")); err != nil || info.Ignored != 4096 || info.Duration != full.Duration {
		t.Errorf("zeroed tail: %+v, %v", info, err)
	}

	// Cut inside the first fragment: there is nothing to keep.
	if err := os.WriteFile(path, whole[:offs[2]+10], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Finalize(path, filepath.Join(dir, "empty.mp4")); !errors.Is(err, ErrNoMedia) {
		t.Errorf("cut in the first fragment: %v, want ErrNoMedia", err)
	}
}

func TestScanRejectsLyingSizes(t *testing.T) {
	w := &fileWriter{}
	fw, _ := NewFragmentWriter(w, H264Track(testSPS, testPPS), AACTrack(testASC))
	writeSynthetic(t, fw, 3, 50)
	fw.Close()
	good := w.Bytes()
	moof := bytes.Index(good, []byte("moof")) - 4
	trun := bytes.Index(good[moof:], []byte("trun")) - 4 + moof

	patch := func(at int, v uint32) []byte {
		b := bytes.Clone(good)
		binary.BigEndian.PutUint32(b[at:], v)
		return b
	}
	for _, tc := range []struct {
		name string
		file []byte
		want error
	}{
		{"moov claims 4 GiB", patch(bytes.Index(good, []byte("moov"))-4, 0xfffffff0), ErrNoMedia},
		{"first moof claims 4 GiB", patch(moof, 0xfffffff0), ErrNoMedia},
		{"first trun claims 2^32-1 samples", patch(trun+12, 0xffffffff), ErrMalformed},
		{"first trun's data offset points past its mdat", patch(trun+16, 0x7ffffff0), ErrMalformed},
		{"first traf is for track 9", patch(bytes.Index(good[moof:], []byte("tfhd"))+moof+8, 9), ErrMalformed},
		{"no moov", append(bytes.Clone(good[:bytes.Index(good, []byte("moov"))-4]), good[moof:]...), ErrNotFragmented},
		{"not an MP4 at all", []byte("RIFF\x00\x00\x00\x04WAVE fmt "), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := scanFragments(bytes.NewReader(tc.file), int64(len(tc.file))); !errors.Is(err, tc.want) {
				t.Errorf("%v, want %v", err, tc.want)
			}
		})
	}
}
