package flv

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestHeaderRoundTrip(t *testing.T) {
	for _, tc := range []struct{ audio, video bool }{{true, true}, {true, false}, {false, true}, {false, false}} {
		var buf bytes.Buffer
		if err := WriteHeader(&buf, tc.audio, tc.video); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != 13 {
			t.Fatalf("header+PreviousTagSize0 is %d bytes, want 13", buf.Len())
		}
		a, v, err := ReadHeader(&buf)
		if err != nil || a != tc.audio || v != tc.video {
			t.Fatalf("ReadHeader = %v %v %v, want %v %v", a, v, err, tc.audio, tc.video)
		}
	}
}

func TestReadHeaderRejectsNonFLV(t *testing.T) {
	_, _, err := ReadHeader(bytes.NewReader([]byte("GET / HTTP/1.1\r\n")))
	if !errors.Is(err, ErrBadHeader) {
		t.Fatalf("err = %v, want ErrBadHeader", err)
	}
}

func TestTagRoundTrip(t *testing.T) {
	tags := []Tag{
		{Type: TagScript, Timestamp: 0, Data: []byte{2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a'}},
		{Type: TagVideo, Timestamp: 0x01234567, Data: []byte{0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65}},
		{Type: TagAudio, Timestamp: 23, Data: []byte{0xaf, 1, 0x21}},
		{Type: TagAudio, Timestamp: 46, Data: nil},
	}
	var buf bytes.Buffer
	for _, tag := range tags {
		if err := WriteTag(&buf, tag); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range tags {
		got, err := ReadTag(&buf, 1<<20)
		if err != nil {
			t.Fatalf("tag %d: %v", i, err)
		}
		if got.Type != want.Type || got.Timestamp != want.Timestamp || !bytes.Equal(got.Data, want.Data) {
			t.Fatalf("tag %d = %+v, want %+v", i, got, want)
		}
	}
	if _, err := ReadTag(&buf, 1<<20); err != io.EOF {
		t.Fatalf("after last tag err = %v, want io.EOF", err)
	}
}

func TestReadTagErrors(t *testing.T) {
	good, _ := AppendTag(nil, Tag{Type: TagVideo, Data: make([]byte, 100)})
	for _, tc := range []struct {
		name string
		in   []byte
		max  int
		want error
	}{
		{"too large is refused before reading", good[:11], 99, ErrTagTooLarge},
		{"truncated body", good[:50], 1000, ErrBadTag},
		{"truncated header", good[:5], 1000, ErrBadTag},
		{"unknown type", append([]byte{7}, good[1:]...), 1000, ErrBadTag},
		{"encrypted", append([]byte{0x29}, good[1:]...), 1000, ErrBadTag},
		{"wrong PreviousTagSize", append(append([]byte{}, good[:len(good)-1]...), 0), 1000, ErrBadTag},
		{"stream id", append(append(append([]byte{}, good[:8]...), 0, 0, 1), good[11:]...), 1000, ErrBadTag},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ReadTag(bytes.NewReader(tc.in), tc.max); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func BenchmarkAppendTag(b *testing.B) {
	buf := make([]byte, 0, 64<<10)
	tag := Tag{Type: TagVideo, Timestamp: 1000, Data: make([]byte, 8000)}
	b.ReportAllocs()
	b.SetBytes(int64(len(tag.Data)))
	for b.Loop() {
		buf, _ = AppendTag(buf[:0], tag)
	}
}

func FuzzReadTag(f *testing.F) {
	good, _ := AppendTag(nil, Tag{Type: TagVideo, Timestamp: 40, Data: []byte{0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65}})
	f.Add(good)
	f.Add(good[:7])
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11})
	f.Add([]byte{9, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			tag, err := ReadTag(r, 1<<16)
			if err != nil {
				return
			}
			// What was read must write back to the same bytes.
			out, err := AppendTag(nil, tag)
			if err != nil {
				t.Fatal(err)
			}
			if again, err := ReadTag(bytes.NewReader(out), 1<<16); err != nil || !bytes.Equal(again.Data, tag.Data) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}
