package mp4

import (
	"fmt"
	"io"
	"time"
)

// DefaultFragmentDuration bounds what a crash can lose: the fragment being
// built is only in memory.
const DefaultFragmentDuration = time.Second

// Syncer flushes written data to stable storage; *os.File is one.
type Syncer interface {
	Sync() error
}

// Options tune a FragmentWriter; the zero value is the crash-safe default.
type Options struct {
	// FragmentDuration is the longest a fragment may span; 0 means
	// DefaultFragmentDuration. A fragment ends earlier at a video keyframe
	// once it spans half of this, so fragments usually start with one.
	FragmentDuration time.Duration

	// Syncer is called after each fragment. nil: the writer itself when it
	// is a Syncer (an *os.File is), so data survives a power loss too.
	Syncer Syncer

	// NoSync writes fragments without syncing (tests, benchmarks, tmpfs).
	NoSync bool
}

// FragmentWriter writes a fragmented MP4: ftyp and moov first, then one
// moof+mdat per fragment, each with a single Write and a sync, so the file
// on disk always ends with whole fragments unless the process dies inside
// one Write. It is not safe for concurrent use: one recording goroutine owns it.
type FragmentWriter struct {
	w        io.Writer
	syncer   Syncer
	maxDur   time.Duration
	tracks   []*fragTrack
	video    *fragTrack
	audio    *fragTrack
	seq      uint32
	pending  int           // samples in the fragment being built
	start    time.Duration // earliest sample time in it
	buf      boxBuf        // the fragment being serialised, reused
	dataOffs []int         // positions of trun data_offset fields in buf
	size     int64
	err      error // sticky: after a failed write the file's end is unknown
	closed   bool
}

// fragTrack is one track's part of the fragment being built.
type fragTrack struct {
	info      TrackInfo
	id        uint32
	timescale uint32
	samples   []fragSample
	data      []byte // the samples' bytes, back to back
	lastDTS   int64  // in timescale; valid when started
	lastDur   uint32 // the latest measured sample duration
	nominal   uint32 // the codec's duration of the last audio frame; 0 for video
	started   bool
}

type fragSample struct {
	dts  int64 // in timescale
	size uint32
	dur  uint32 // 0 until the next sample (or the fragment's end) sets it
	cto  int32  // composition offset: pts - dts
	sync bool
}

// NewFragmentWriter writes the file header (ftyp, moov) for the tracks, at
// most one video and one audio track, with the default Options.
func NewFragmentWriter(w io.Writer, tracks ...TrackInfo) (*FragmentWriter, error) {
	return NewFragmentWriterOptions(w, Options{}, tracks...)
}

// NewFragmentWriterOptions is NewFragmentWriter with Options.
func NewFragmentWriterOptions(w io.Writer, opts Options, tracks ...TrackInfo) (*FragmentWriter, error) {
	if len(tracks) == 0 {
		return nil, ErrNoTracks
	}
	fw := &FragmentWriter{w: w, maxDur: opts.FragmentDuration, syncer: opts.Syncer}
	if fw.maxDur <= 0 {
		fw.maxDur = DefaultFragmentDuration
	}
	if fw.syncer == nil {
		fw.syncer, _ = w.(Syncer)
	}
	if opts.NoSync {
		fw.syncer = nil
	}
	var b boxBuf
	writeFtyp(&b, true)
	moov := b.start("moov")
	writeMvhd(&b, 0, uint32(len(tracks)+1))
	var ids []uint32
	for i, t := range tracks {
		if err := t.validate(); err != nil {
			return nil, err
		}
		ft := &fragTrack{info: t, id: uint32(i + 1), timescale: t.timescale()}
		slot := &fw.audio
		if t.isVideo() {
			slot = &fw.video
		}
		if *slot != nil {
			return nil, fmt.Errorf("%w: two %v tracks", ErrBadTrack, t.Codec)
		}
		*slot = ft
		fw.tracks = append(fw.tracks, ft)
		ids = append(ids, ft.id)

		var sps spsInfo
		if t.isVideo() {
			sps, _ = parseSPS(t.SPS) // unreadable: 0x0, players size from the stream
		}
		var stsd boxBuf
		writeStsd(&stsd, t, sps)
		h := trakHeader{id: ft.id, video: t.isVideo(), timescale: ft.timescale, width: sps.width, height: sps.height}
		writeTrak(&b, h, stsd.b, writeEmptyTables)
	}
	writeMvex(&b, ids)
	b.end(moov)
	if err := fw.commit(b.b); err != nil {
		return nil, err
	}
	return fw, nil
}

// WriteVideo adds an H.264 access unit in AVCC form (4-byte NALU lengths)
// presented at pts; decode time is taken equal to pts, as for streams
// without B-frames (WebRTC's). Frames before the first keyframe cannot be
// decoded and are dropped.
func (fw *FragmentWriter) WriteVideo(au []byte, pts time.Duration, keyframe bool) error {
	return fw.WriteVideoDTS(au, pts, pts, keyframe)
}

// WriteVideoDTS is WriteVideo for streams with B-frames: dts orders the
// samples, pts - dts becomes the composition offset.
func (fw *FragmentWriter) WriteVideoDTS(au []byte, dts, pts time.Duration, keyframe bool) error {
	if fw.video == nil {
		return ErrNoSuchTrack
	}
	if !fw.video.started && !keyframe {
		return nil
	}
	return fw.write(fw.video, au, dts, pts, keyframe)
}

// WriteAudio adds one AAC frame (raw, no ADTS header) or one Opus packet
// presented at pts.
func (fw *FragmentWriter) WriteAudio(frame []byte, pts time.Duration) error {
	if fw.audio == nil {
		return ErrNoSuchTrack
	}
	return fw.write(fw.audio, frame, pts, pts, true)
}

func (fw *FragmentWriter) write(t *fragTrack, data []byte, dts, pts time.Duration, sync bool) error {
	if fw.closed {
		return ErrClosed
	}
	if fw.err != nil {
		return fw.err
	}
	if len(data) == 0 {
		return nil // nothing to play; Scan refuses empty samples
	}
	d, p := toTicks(dts, t.timescale), toTicks(pts, t.timescale)
	if !t.info.isVideo() {
		d = t.snap(d)
		p = d
	}
	if d < 0 || (t.started && d <= t.lastDTS) {
		return fmt.Errorf("%w: track %d at %v", ErrTimestampOrder, t.id, dts)
	}
	// The previous sample of this track now has its exact duration, even
	// when the fragment is cut right here.
	if n := len(t.samples); n > 0 {
		t.samples[n-1].dur = clampDuration(d - t.samples[n-1].dts)
		t.lastDur = t.samples[n-1].dur
	} else if t.started {
		t.lastDur = clampDuration(d - t.lastDTS)
	}
	if fw.pending > 0 {
		elapsed := dts - fw.start
		if elapsed >= fw.maxDur || (t.info.isVideo() && sync && elapsed >= fw.maxDur/2) {
			if err := fw.Flush(); err != nil {
				return err
			}
		}
	}
	if fw.pending == 0 || dts < fw.start {
		fw.start = dts
	}
	fw.pending++
	t.samples = append(t.samples, fragSample{dts: d, size: uint32(len(data)), cto: int32(p - d), sync: sync})
	t.data = append(t.data, data...)
	t.lastDTS, t.started = d, true
	t.nominal = t.info.frameDuration(data)
	return nil
}

// Flush writes the fragment being built, if any, and syncs it.
func (fw *FragmentWriter) Flush() error {
	if fw.err != nil {
		return fw.err
	}
	if fw.pending == 0 {
		return nil
	}
	for _, t := range fw.tracks {
		if n := len(t.samples); n > 0 {
			// Its successor is unknown: repeat the last measured duration.
			// The next fragment's tfdt restates the real time, so a wrong
			// guess never accumulates.
			t.samples[n-1].dur = t.lastDur
			if t.lastDur == 0 {
				t.samples[n-1].dur = t.info.defaultDuration()
			}
		}
	}
	fw.seq++
	fw.buf.reset()
	fw.encodeFragment()
	err := fw.commit(fw.buf.b)
	for _, t := range fw.tracks {
		t.samples, t.data = t.samples[:0], t.data[:0]
	}
	fw.pending = 0
	return err
}

// Close writes the last fragment. The file stays fragmented (Finalize makes
// a progressive copy) and open: the caller owns it.
func (fw *FragmentWriter) Close() error {
	if fw.closed {
		return nil
	}
	err := fw.Flush()
	fw.closed = true
	return err
}

// Size is the number of bytes written so far, all of them whole fragments.
func (fw *FragmentWriter) Size() int64 { return fw.size }

// commit writes p with one Write call, then syncs.
func (fw *FragmentWriter) commit(p []byte) error {
	n, err := fw.w.Write(p)
	fw.size += int64(n)
	if err == nil && fw.syncer != nil {
		err = fw.syncer.Sync()
	}
	if err != nil {
		fw.err = fmt.Errorf("mp4: write fragment %d: %w", fw.seq, err)
		return fw.err
	}
	return nil
}
