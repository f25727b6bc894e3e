package record

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/trtcd/trtcd/internal/panics"
)

// finalize turns a partial file into the final one, indexes it, queues its
// callback and removes the partial file, in an order that a crash at any
// point leaves something recover completes: the final file's name is
// in the index before the file appears under it, and the partial file goes
// only once the entry is done and its callback queued. An entry that
// already names an existing final file (a crash came after the rename) is
// only completed.
func (r *Recorder) finalize(f *File) {
	if !r.finalInPlace(f) {
		if err := r.makeFinal(f); err != nil {
			r.finalizeFailed(f, err)
			return
		}
	}
	r.complete(f)
}

// finalizeFailed keeps a recording the disk refused to finalise for a
// later try, and ends one whose partial file cannot be made playable as
// failed, with a callback that says so. The disk's refusals are tried
// again maxFinalizeAttempts times at most, further and further apart, and
// for maxFinalizeWait at most: a partial file on an unreadable sector
// fails with EIO for ever, and its application waits for a callback.
func (r *Recorder) finalizeFailed(f *File, err error) {
	f.Error = err.Error()
	if diskTrouble(err) {
		now := r.now()
		f.FinalizeAttempts++
		if f.FinalizeFailedSince.IsZero() {
			f.FinalizeFailedSince = now
		}
		if f.FinalizeAttempts < maxFinalizeAttempts && now.Sub(f.FinalizeFailedSince) < maxFinalizeWait {
			f.State = StateFinalizing
			f.FinalizeNext = now.Add(r.retryDelay(f.FinalizeAttempts))
			r.log.Warn("the disk refused a final file; it is tried again at the next start and once there is room",
				"file", f.ID, "attempts", f.FinalizeAttempts, "next", f.FinalizeNext, "err", err)
			if err := r.cfg.Store.Put(f); err != nil { // the entry stays recording: the next start finalises it
				r.log.Error("indexing a recording", "file", f.ID, "err", err)
			}
			return
		}
		f.Error = fmt.Sprintf("record: the disk refused the final file %d times since %s: %v",
			f.FinalizeAttempts, f.FinalizeFailedSince.UTC().Format(time.RFC3339), err)
	}
	f.State, f.Name, f.Duration, f.Size = StateFailed, "", 0, 0 // no final file
	f.FinalizeNext = time.Time{}
	r.log.Error("finalising a recording", "file", f.ID, "err", f.Error)
	if err := r.cfg.Store.Finish(f, true); err != nil {
		r.log.Error("indexing a recording", "file", f.ID, "err", err)
		return
	}
	r.wakeNotifier()
}

// How often, and for how long, a final file the disk refused is tried
// again before its recording ends failed.
const (
	maxFinalizeAttempts = 10
	maxFinalizeWait     = 24 * time.Hour
	maxFinalizeDelay    = 4 * time.Hour
)

// retryDelay is the wait after the disk refused a final file attempts
// times: FinalizeRetry, doubling with each refusal up to maxFinalizeDelay,
// so a disk that stays broken is not made to rewrite gigabytes every half
// minute.
func (r *Recorder) retryDelay(attempts int) time.Duration {
	d := r.cfg.FinalizeRetry
	for i := 1; i < attempts && d < maxFinalizeDelay; i++ {
		d *= 2
	}
	return min(d, maxFinalizeDelay)
}

// diskTrouble says whether err is the disk's (full, over quota, an I/O
// error) rather than the partial file's: the same file finalises once the
// disk has room or works again.
func diskTrouble(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EIO)
}

// startRetry runs retryFinalizing in the background, unless a run (or the
// recovery of what a crash left) is still going, and says whether it
// started one: rewriting a multi-gigabyte recording takes minutes, and the
// watch loop meanwhile ends idle sessions and guards the free space.
func (r *Recorder) startRetry() bool {
	if !r.retrying.TryLock() {
		return false // a retry, or the recovery, is under way
	}
	r.wg.Add(1) // watch holds the group's count: Close's Wait has not returned
	go func() {
		defer r.wg.Done()
		defer r.retrying.Unlock()
		r.retryFinalizing()
	}()
	return true
}

// retryFinalizing tries again the recordings the disk refused to finalise
// whose next try is due, when the disk has room for them (see
// Config.MinFreeBytes). r.retrying is held.
func (r *Recorder) retryFinalizing() {
	now := r.now()
	waiting, err := r.cfg.Store.Files(func(f *File) bool {
		return f.State == StateFinalizing && !f.FinalizeNext.After(now)
	})
	if err != nil || len(waiting) == 0 {
		return
	}
	r.mu.Lock()
	short := r.checkSpaceLocked() != nil
	r.mu.Unlock()
	if short {
		return
	}
	for _, f := range waiting {
		if r.ctx.Err() != nil {
			return
		}
		r.log.Info("finalising a recording the disk refused before", "file", f.ID, "record_id", f.RecordID,
			"attempts", f.FinalizeAttempts)
		r.finalize(f)
	}
}

// finalInPlace says whether the file under f's indexed name is f's final
// file, one a crash left in place after linking it. A file of that name
// and another size is someone else's (a file an older trtcd, or a person,
// put there): f's own is made again, under a free name, and the other is
// left alone.
func (r *Recorder) finalInPlace(f *File) bool {
	if f.Name == "" {
		return false
	}
	st, err := os.Stat(r.path(f.Name))
	if err != nil {
		return false
	}
	if st.Size() != f.Size {
		r.log.Warn("the file under a recording's indexed name is another's; the recording is finalised under a new name",
			"file", f.ID, "name", f.Name, "size", st.Size(), "indexed_size", f.Size)
		f.Name = ""
		return false
	}
	return true
}

// makeFinal writes the final file from the partial one and renames it into
// place, durably, under a name the index holds first.
func (r *Recorder) makeFinal(f *File) error {
	tmp := r.path(f.Partial) + ".final"
	duration, size, err := r.runFinalizer(f, tmp)
	if err == nil {
		err = syncFile(tmp, recordingFileMode)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	r.crashPoint(stepFinalWritten)
	f.Duration, f.Size = duration.Seconds(), size
	// A session that ended set its end; a recovery keeps the end the index
	// holds (it names the file). A recording a crash cut has none: it ended
	// with its media, not when the server came back, maybe hours later.
	if f.End.IsZero() {
		f.End = f.Start.Add(duration)
	}
	if f.Start.IsZero() || f.End.Sub(f.Start) < duration {
		f.Start = f.End.Add(-duration)
	}
	r.naming.Lock()
	defer r.naming.Unlock()
	f.Name = r.freeName(f)
	if err := r.cfg.Store.Put(f); err != nil {
		os.Remove(tmp)
		return err
	}
	r.crashPoint(stepNamed)
	// A link, unlike a rename, never replaces a file of the name.
	if err := os.Link(tmp, r.path(f.Name)); err != nil {
		return err
	}
	os.Remove(tmp)
	syncDir(r.cfg.Dir)
	r.crashPoint(stepRenamed)
	return nil
}

// freeName is f's file name (fileName), or, when a file of that name
// exists or another entry of the index holds it, the same with _2, _3 …
// before the extension. Members sharing a recordId that start and stop in
// the same second (a class that close_room ends) would otherwise share a
// name, the later file replacing the earlier, and any member could aim its
// start at another's name. A name only indexed is taken too: a crash
// between indexing a name and linking the file under it leaves the name
// to that entry, which recovery links. r.naming is held, so two
// finalisations cannot pick one name. Each candidate costs a look-up in
// the index of names (Store.NameHeld), not a read of every recording.
func (r *Recorder) freeName(f *File) string {
	held := func(name string) bool {
		taken, err := r.cfg.Store.NameHeld(name, f.ID)
		if err != nil {
			r.log.Error("reading the recording index", "file", f.ID, "err", err)
		}
		return taken
	}
	name := fileName(f)
	stem, ext := strings.TrimSuffix(name, "."+f.Format), "."+f.Format
	for i := 2; held(name) || exists(r.path(name)); i++ {
		name = fmt.Sprintf("%s_%d%s", stem, i, ext)
	}
	return name
}

// runFinalizer rewrites the partial file, whose bytes come from a client's
// media, into tmp; a panic on them fails this file, not the process.
func (r *Recorder) runFinalizer(f *File, tmp string) (d time.Duration, size int64, err error) {
	defer func() {
		if v := recover(); v != nil {
			panics.Report(panics.Record, v, r.cfg.Logger)
			err = fmt.Errorf("record: finalising %s panicked: %v", f.Partial, v)
		}
	}()
	return r.writeFinal(f.Format, r.path(f.Partial), tmp)
}

// writeFinal rewrites a partial file of format as its final file and
// returns the media's duration and the final file's size.
func writeFinal(format, partial, final string) (time.Duration, int64, error) {
	if format == "mp3" {
		return finalizeMP3(partial, final)
	}
	return mp4Finalizer(partial, final)
}

// complete marks the entry done and queues its callback in one
// transaction, then removes the partial file. Should the index fail, the
// partial file stays and the next start completes the entry.
func (r *Recorder) complete(f *File) {
	f.State, f.Error, f.FinalizeNext = StateDone, "", time.Time{}
	if err := r.cfg.Store.Finish(f, true); err != nil {
		r.log.Error("indexing a recording", "file", f.ID, "err", err)
		return
	}
	r.crashPoint(stepIndexed)
	os.Remove(r.path(f.Partial))
	r.log.Info("recording done", "file", f.ID, "name", f.Name, "duration_s", f.Duration, "bytes", f.Size)
	r.wakeNotifier()
}

// wakeNotifier has a callback just queued delivered now.
func (r *Recorder) wakeNotifier() {
	select {
	case r.notify.wake <- struct{}{}:
	default:
	}
}

// syncFile sets path's mode and makes its data durable before an index
// entry points at it.
func syncFile(path string, mode os.FileMode) error {
	file, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer file.Close()
	if err := file.Chmod(mode); err != nil {
		return err
	}
	return file.Sync()
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// finalizeStep names the points between finalize's durable steps, where a
// test stops it to play a crash.
type finalizeStep int

const (
	stepFinalWritten finalizeStep = iota // the final file is written under a temporary name
	stepNamed                            // the index holds the final name
	stepRenamed                          // the final file is in place
	stepIndexed                          // the entry is done, its callback queued
)

func (r *Recorder) crashPoint(step finalizeStep) {
	if r.crashAt != nil {
		r.crashAt(step)
	}
}

// fileName names a file as TRTC does: <recordId>_<streamType>_<start>_<end>
// with a recordId, else <sdkAppId>_<roomId>_<userId>_<streamType>_<start>_<end>;
// the stream type is main, or aux for the sub-stream.
func fileName(f *File) string {
	prefix := f.StreamID
	if f.RecordID != "" {
		prefix = f.RecordID + "_" + streamType(videoOf(f))
	}
	return fmt.Sprintf("%s_%d_%d.%s", prefix, f.Start.Unix(), f.End.Unix(), f.Format)
}

// crashedFiles lists what a crash left behind, whatever finalize step it
// came at: entries still recording, and those the disk refused to
// finalise before. One with no file at all is dropped; then what
// partial/ holds for no unfinished entry goes.
func (r *Recorder) crashedFiles() []*File {
	files, err := r.cfg.Store.Files(func(f *File) bool { return f.State == StateRecording || f.State == StateFinalizing })
	if err != nil {
		r.log.Error("reading the recording index", "err", err)
		return nil
	}
	var left []*File
	for _, f := range files {
		if f.Name != "" && exists(r.path(f.Name)) || exists(r.path(f.Partial)) {
			left = append(left, f)
			continue
		}
		r.cfg.Store.Delete(f.ID) // nothing was written before the crash
	}
	r.sweepPartials()
	return left
}

// recover finalises (or only completes, when its final file is in place)
// each recording a crash left, holding r.retrying, which New took.
func (r *Recorder) recover(files []*File) {
	defer close(r.recovered)
	defer r.retrying.Unlock()
	for _, f := range files {
		if r.ctx.Err() != nil {
			return
		}
		r.log.Warn("finalising a recording interrupted by a crash", "file", f.ID, "record_id", f.RecordID)
		r.finalizing <- struct{}{} // one of the slots ended sessions use (finishAside)
		r.finalize(f)
		<-r.finalizing
	}
}

// sweepPartials removes the files in partial/ that no entry recording or
// failed (kept for a look) owns: the partial file of an entry that a crash
// left done, and temporary final files.
func (r *Recorder) sweepPartials() {
	unfinished, err := r.cfg.Store.Files(func(f *File) bool { return f.State != StateDone && f.Partial != "" })
	if err != nil {
		return
	}
	keep := map[string]bool{}
	for _, f := range unfinished {
		keep[filepath.Clean(f.Partial)] = true
	}
	entries, _ := os.ReadDir(r.path("partial"))
	for _, e := range entries {
		if name := filepath.Join("partial", e.Name()); !keep[name] {
			os.Remove(r.path(name))
		}
	}
}
