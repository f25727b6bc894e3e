package mp4

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Finalize rewrites a fragmented MP4 as a progressive one with the moov
// first, so players can start before the whole file has arrived. A trailing
// fragment cut by a crash is left out (Info.Ignored counts its bytes).
//
// The sample data is streamed, never held: the scan keeps ~24 bytes per
// sample (a 1-hour recording is ~260k samples, ~6 MB), the moov is built
// from that, then the samples are copied in file order, one chunk per track
// per fragment. outPath is written under a temporary name and renamed into
// place once synced, so it never exists half-written.
func Finalize(fragmentedPath, outPath string) (Info, error) {
	in, err := os.Open(fragmentedPath)
	if err != nil {
		return Info{}, err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return Info{}, err
	}
	ff, err := scanFragments(in, st.Size())
	if err != nil {
		return Info{}, fmt.Errorf("finalize %s: %w", fragmentedPath, err)
	}
	info := ff.info()

	var payload int64
	for _, t := range ff.tracks {
		for _, s := range t.samples {
			payload += int64(s.size)
		}
	}
	head, err := progressiveHead(ff, payload)
	if err != nil {
		return Info{}, err
	}

	tmp := outPath + ".tmp"
	// 0640: recordings are the operator's, readable by its group (a backup
	// or web server), never by every user of the machine.
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return Info{}, err
	}
	defer os.Remove(tmp) // a no-op after the rename
	if err := writeProgressive(out, in, head, ff, payload); err != nil {
		out.Close()
		return Info{}, fmt.Errorf("finalize %s: %w", outPath, err)
	}
	if err := out.Close(); err != nil {
		return Info{}, err
	}
	if err := os.Rename(tmp, outPath); err != nil {
		return Info{}, err
	}
	// The rename itself is durable only once the directory is synced.
	if dir, err := os.Open(filepath.Dir(outPath)); err == nil {
		dir.Sync()
		dir.Close()
	}
	info.Size = int64(len(head)) + payload
	return info, nil
}

// progressiveHead builds ftyp, moov and the mdat header. The moov's size
// does not depend on the chunk offsets it holds, so a first pass measures
// it and a second fills in the offsets; beyond 4 GiB, co64 replaces stco.
func progressiveHead(ff *fragFile, payload int64) ([]byte, error) {
	offs := make([]int64, len(ff.chunks))
	var b boxBuf
	build := func(co64 bool) {
		b.reset()
		writeFtyp(&b, false)
		writeProgressiveMoov(&b, ff, offs, co64)
		b.b = mdatHeader(b.b, payload)
	}
	build(false)
	co64 := int64(len(b.b))+payload > 0xffffffff
	if co64 {
		build(true)
	}
	pos := int64(len(b.b))
	for i, c := range ff.chunks {
		offs[i] = pos
		for _, s := range ff.tracks[c.track].samples[c.first : c.first+c.n] {
			pos += int64(s.size)
		}
	}
	build(co64)
	if int64(len(b.b))+payload != pos {
		return nil, fmt.Errorf("mp4: progressive header changed size between passes")
	}
	return b.b, nil
}

func writeProgressiveMoov(b *boxBuf, ff *fragFile, chunkOffs []int64, co64 bool) {
	// Tracks start where their first sample is presented, relative to the
	// earliest track: a later one gets an empty edit first.
	origin := time.Duration(-1)
	for _, t := range ff.tracks {
		if len(t.samples) > 0 && (origin < 0 || t.presentationStart() < origin) {
			origin = t.presentationStart()
		}
	}
	var movieDur uint64
	heads := make([]trakHeader, len(ff.tracks))
	for i, t := range ff.tracks {
		var media uint64
		for _, s := range t.samples {
			media += uint64(s.dur)
		}
		h := trakHeader{id: t.id, video: t.video, timescale: t.timescale, duration: media, width: t.width, height: t.height}
		mediaMs := media * movieTimescale / uint64(t.timescale)
		delay := uint64(toTicks(t.presentationStart()-origin, movieTimescale))
		var first int32
		if len(t.samples) > 0 {
			first = t.samples[0].cto
		}
		if delay > 0 {
			h.edits = append(h.edits, edit{duration: delay, mediaTime: -1})
		}
		if delay > 0 || first != 0 {
			h.edits = append(h.edits, edit{duration: mediaMs, mediaTime: int64(first)})
		}
		h.movieDuration = delay + mediaMs
		movieDur = max(movieDur, h.movieDuration)
		heads[i] = h
	}
	moov := b.start("moov")
	writeMvhd(b, movieDur, uint32(len(ff.tracks)+1))
	for i, t := range ff.tracks {
		if len(t.samples) == 0 {
			continue // a track that never got a sample would confuse players
		}
		writeTrak(b, heads[i], t.stsd, func(b *boxBuf) {
			progressiveTables(b, ff, i, chunkOffs, co64)
		})
	}
	b.end(moov)
}

// presentationStart is when the track's first sample is shown, from the
// recording origin.
func (t *srcTrack) presentationStart() time.Duration {
	if len(t.samples) == 0 {
		return 0
	}
	return fromTicks(t.firstDTS+int64(t.samples[0].cto), t.timescale)
}

// writeProgressive writes head and copies the samples chunk by chunk,
// merging samples that sit back to back in the source into one copy.
func writeProgressive(out *os.File, in io.ReaderAt, head []byte, ff *fragFile, payload int64) error {
	bw := bufio.NewWriterSize(out, 1<<20)
	if _, err := bw.Write(head); err != nil {
		return err
	}
	var copied int64
	var runOff, runLen int64
	flush := func() error {
		if runLen == 0 {
			return nil
		}
		n, err := io.Copy(bw, io.NewSectionReader(in, runOff, runLen))
		copied += n
		if err == nil && n != runLen {
			err = io.ErrUnexpectedEOF
		}
		runLen = 0
		return err
	}
	for _, c := range ff.chunks {
		for _, s := range ff.tracks[c.track].samples[c.first : c.first+c.n] {
			if runLen > 0 && runOff+runLen == s.off {
				runLen += int64(s.size)
				continue
			}
			if err := flush(); err != nil {
				return err
			}
			runOff, runLen = s.off, int64(s.size)
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if copied != payload {
		return fmt.Errorf("copied %d of %d sample bytes", copied, payload)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return out.Sync()
}
