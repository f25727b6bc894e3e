package rtmp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
)

func newTestReader(b []byte) *chunkReader {
	return newChunkReader(bufio.NewReader(bytes.NewReader(b)), 4<<20, 64)
}

func writeMessages(t testing.TB, chunkSize uint32, msgs map[uint32][]message, order []uint32) []byte {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	cw := newChunkWriter(bw)
	cw.chunkSize = chunkSize
	next := map[uint32]int{}
	for _, csid := range order {
		if err := cw.writeMessage(csid, msgs[csid][next[csid]]); err != nil {
			t.Fatal(err)
		}
		next[csid]++
	}
	bw.Flush()
	return buf.Bytes()
}

func TestChunkRoundTrip(t *testing.T) {
	payload := func(n int, seed byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = seed + byte(i*7)
		}
		return b
	}
	msgs := []message{
		{typeID: msgVideo, streamID: 1, timestamp: 0, payload: payload(10000, 1)},
		{typeID: msgAudio, streamID: 1, timestamp: 23, payload: payload(300, 2)},
		{typeID: msgVideo, streamID: 1, timestamp: 0xffffff, payload: payload(5000, 3)}, // exactly the marker
		{typeID: msgVideo, streamID: 1, timestamp: 0x12345678, payload: payload(129, 4)},
		{typeID: msgDataAMF0, streamID: 1, timestamp: 5, payload: nil},
		{typeID: msgCommandAMF0, streamID: 0, timestamp: 0, payload: payload(128, 5)},
	}
	for _, size := range []uint32{1, 128, 4096, 1 << 20} {
		for _, csid := range []uint32{3, 64, 319, 320, 65599} { // 1-, 2- and 3-byte basic headers
			t.Run(fmt.Sprintf("chunk %d csid %d", size, csid), func(t *testing.T) {
				in := writeMessages(t, size, map[uint32][]message{csid: msgs}, []uint32{csid, csid, csid, csid, csid, csid})
				cr := newTestReader(in)
				if err := cr.setChunkSize(size); err != nil {
					t.Fatal(err)
				}
				for i, want := range msgs {
					got, err := cr.readMessage()
					if err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
					if got.typeID != want.typeID || got.streamID != want.streamID || got.timestamp != want.timestamp || !bytes.Equal(got.payload, want.payload) {
						t.Fatalf("message %d: got type %d stream %d ts %d len %d", i, got.typeID, got.streamID, got.timestamp, len(got.payload))
					}
				}
				if _, err := cr.readMessage(); err != io.EOF {
					t.Fatalf("after the last message: %v", err)
				}
			})
		}
	}
}

// Hand-made chunks with compressed headers, as ffmpeg and OBS send them.
func TestChunkCompressedHeaders(t *testing.T) {
	in := []byte{
		// csid 4, type 0: ts 1000, len 3, audio, stream 1
		0x04, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x03, 0x08, 0x01, 0x00, 0x00, 0x00, 'a', 'b', 'c',
		// type 1: delta 20, len 2, audio
		0x44, 0x00, 0x00, 0x14, 0x00, 0x00, 0x02, 0x08, 'd', 'e',
		// type 2: delta 30
		0x84, 0x00, 0x00, 0x1e, 'f', 'g',
		// type 3, new message: delta 30 again
		0xc4, 'h', 'i',
	}
	cr := newTestReader(in)
	for i, want := range []struct {
		ts   uint32
		data string
	}{{1000, "abc"}, {1020, "de"}, {1050, "fg"}, {1080, "hi"}} {
		m, err := cr.readMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.timestamp != want.ts || string(m.payload) != want.data || m.typeID != msgAudio || m.streamID != 1 {
			t.Fatalf("message %d: ts %d data %q", i, m.timestamp, m.payload)
		}
	}
}

// Two chunk streams interleaved, and extended timestamps both repeated on
// the continuation chunk (ffmpeg) and not (old encoders).
func TestChunkInterleavedAndExtendedContinuation(t *testing.T) {
	video := bytes.Repeat([]byte{'v'}, 200)
	var in []byte
	// csid 6: video 200 bytes, extended ts 0x01000000, first 128 bytes
	in = append(in, 0x06, 0xff, 0xff, 0xff, 0x00, 0x00, 200, 0x09, 1, 0, 0, 0, 0x01, 0x00, 0x00, 0x00)
	in = append(in, video[:128]...)
	// csid 4: a whole audio message in between
	in = append(in, 0x04, 0, 0, 5, 0, 0, 2, 0x08, 1, 0, 0, 0, 'a', 'a')
	// csid 6 continuation with the extended timestamp repeated
	in = append(in, 0xc6, 0x01, 0x00, 0x00, 0x00)
	in = append(in, video[128:]...)
	// csid 6 again: a second message (type 3 → delta 0x01000000) whose
	// continuation omits the extended timestamp
	in = append(in, 0xc6, 0x01, 0x00, 0x00, 0x00)
	in = append(in, video[:128]...)
	in = append(in, 0xc6)
	in = append(in, video[128:]...)

	cr := newTestReader(in)
	want := []struct {
		typ uint8
		ts  uint32
		n   int
	}{{msgAudio, 5, 2}, {msgVideo, 0x01000000, 200}, {msgVideo, 0x02000000, 200}}
	for i, w := range want {
		m, err := cr.readMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.typeID != w.typ || m.timestamp != w.ts || len(m.payload) != w.n {
			t.Fatalf("message %d: type %d ts %#x len %d; want %+v", i, m.typeID, m.timestamp, len(m.payload), w)
		}
		if m.typeID == msgVideo && !bytes.Equal(m.payload, video) {
			t.Fatalf("message %d: payload corrupted", i)
		}
	}
}

func TestChunkReaderRefuses(t *testing.T) {
	t.Run("16 MB message is refused before allocation", func(t *testing.T) {
		in := []byte{0x06, 0, 0, 0, 0xff, 0xff, 0xff, 0x09, 1, 0, 0, 0}
		cr := newTestReader(in)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := cr.readMessage()
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrMessageTooLarge) {
			t.Fatalf("err = %v", err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Fatalf("%d bytes allocated for a refused message", n)
		}
	})
	t.Run("chunk size 0 and 2^31", func(t *testing.T) {
		cr := newTestReader(nil)
		for _, n := range []uint32{0, 1 << 31, 0xffffffff} {
			if err := cr.setChunkSize(n); !errors.Is(err, ErrChunk) {
				t.Errorf("chunk size %d: err = %v", n, err)
			}
		}
		if err := cr.setChunkSize(0x7fffffff); err != nil || cr.chunkSize != maxMessageLength {
			t.Errorf("chunk size 2^31-1: err %v, size %d; want clamped to %d", err, cr.chunkSize, maxMessageLength)
		}
	})
	t.Run("type 1 header on a new chunk stream", func(t *testing.T) {
		cr := newTestReader([]byte{0x44, 0, 0, 0, 0, 0, 1, 8, 'x'})
		if _, err := cr.readMessage(); !errors.Is(err, ErrChunk) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("too many chunk streams", func(t *testing.T) {
		var in []byte
		for csid := 64; csid < 64+65; csid++ {
			// each opens a 10-byte message and sends 1 byte of it
			in = append(in, 0x00, byte(csid-64), 0, 0, 0, 0, 0, 10, 8, 1, 0, 0, 0, 'x')
		}
		cr := newChunkReader(bufio.NewReader(bytes.NewReader(in)), 4<<20, 64)
		cr.chunkSize = 1
		var err error
		for err == nil {
			_, err = cr.readMessage()
		}
		if !errors.Is(err, ErrTooManyChunkStreams) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("partial messages on many chunk streams are capped", func(t *testing.T) {
		var in []byte
		for csid := byte(4); csid < 8; csid++ {
			in = append(in, csid, 0, 0, 0, 0, 0x03, 0x84, 9, 1, 0, 0, 0) // 900-byte video
			in = append(in, make([]byte, 600)...)
		}
		cr := newChunkReader(bufio.NewReader(bytes.NewReader(in)), 1000, 64)
		cr.chunkSize = 600
		var err error
		for err == nil {
			_, err = cr.readMessage()
		}
		if !errors.Is(err, ErrMessageTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("new header in the middle of a message", func(t *testing.T) {
		in := []byte{0x04, 0, 0, 0, 0, 0, 200, 8, 1, 0, 0, 0}
		in = append(in, make([]byte, 128)...)
		in = append(in, 0x04, 0, 0, 0, 0, 0, 2, 8, 1, 0, 0, 0, 1, 2)
		if _, err := newTestReader(in).readMessage(); !errors.Is(err, ErrChunk) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("truncated chunk", func(t *testing.T) {
		in := []byte{0x04, 0, 0, 0, 0, 0, 50, 8, 1, 0, 0, 0, 1, 2, 3}
		if _, err := newTestReader(in).readMessage(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestChunkAbort(t *testing.T) {
	in := []byte{0x04, 0, 0, 0, 0, 0, 200, 8, 1, 0, 0, 0}
	in = append(in, make([]byte, 128)...)
	cr := newTestReader(in)
	if _, done, err := cr.readChunk(); err != nil || done {
		t.Fatalf("first chunk: done %v err %v", done, err)
	}
	cr.abort(4)
	// After the abort a fresh type 0 header is fine again.
	cr.r = bufio.NewReader(bytes.NewReader([]byte{0x04, 0, 0, 1, 0, 0, 1, 8, 1, 0, 0, 0, 'z'}))
	m, err := cr.readMessage()
	if err != nil || string(m.payload) != "z" {
		t.Fatalf("after abort: %q %v", m.payload, err)
	}
}

func FuzzChunkReader(f *testing.F) {
	f.Add(writeMessages(f, 128, map[uint32][]message{
		4: {{typeID: msgAudio, streamID: 1, timestamp: 0x1000000, payload: make([]byte, 300)}},
		3: {{typeID: msgCommandAMF0, payload: []byte{2, 0, 4, 'p', 'l', 'a', 'y'}}},
	}, []uint32{4, 3}))
	f.Add([]byte{0x04, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x03, 0x08, 0x01, 0x00, 0x00, 0x00, 'a', 'b', 'c', 0x44, 0, 0, 0x14, 0, 0, 2, 8, 'd', 'e', 0xc4, 'f', 'g'})
	f.Add([]byte{0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x06, 0xff, 0xff, 0xff, 0, 0, 2, 9, 1, 0, 0, 0, 1, 0, 0, 0, 9, 9})
	f.Add([]byte{0x40, 0x00, 0, 0, 0, 0, 0, 1, 20, 0, 0, 0, 0, 5, 0x41, 0x00, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		cr := newChunkReader(bufio.NewReader(bytes.NewReader(b)), 1<<16, 8)
		for i := 0; i < 1000; i++ {
			m, err := cr.readMessage()
			if err != nil {
				return
			}
			if len(m.payload) > 1<<16 {
				t.Fatalf("message of %d bytes passed the limit", len(m.payload))
			}
			if m.typeID == msgSetChunkSize && len(m.payload) >= 4 {
				v, _ := be32(m)
				if cr.setChunkSize(v) != nil {
					return
				}
			}
		}
	})
}

func BenchmarkChunkWriter(b *testing.B) {
	cw := newChunkWriter(bufio.NewWriterSize(io.Discard, 16<<10))
	cw.chunkSize = outChunkSize
	m := message{typeID: msgVideo, streamID: 1, timestamp: 0x1000000, payload: make([]byte, 20000)}
	b.ReportAllocs()
	b.SetBytes(int64(len(m.payload)))
	for b.Loop() {
		m.timestamp++
		if err := cw.writeMessage(csidVideo, m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunkReader(b *testing.B) {
	msgs := make([]message, 100)
	order := make([]uint32, 100)
	for i := range msgs {
		msgs[i] = message{typeID: msgVideo, streamID: 1, timestamp: uint32(i * 33), payload: make([]byte, 20000)}
		order[i] = csidVideo
	}
	in := writeMessages(b, outChunkSize, map[uint32][]message{csidVideo: msgs}, order)
	br := bufio.NewReaderSize(nil, 16<<10)
	r := bytes.NewReader(in)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)) / 100)
	cr := newChunkReader(br, 4<<20, 64)
	cr.chunkSize = outChunkSize
	i := 0
	for b.Loop() {
		if i%100 == 0 {
			r.Reset(in)
			br.Reset(r)
		}
		i++
		if _, err := cr.readMessage(); err != nil {
			b.Fatal(err)
		}
	}
}
