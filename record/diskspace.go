package record

import (
	"fmt"
	"os"
	"syscall"
)

// DefaultMinFreeBytes is Config.MinFreeBytes's default.
const DefaultMinFreeBytes = 2 << 30

// freeBytes is what the file system holding dir has free for this process.
func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// spareLocked is the disk left once the recordings in progress are finalised:
// finalising rewrites each partial file, so each needs its size again.
// r.mu is held.
func (r *Recorder) spareLocked() (int64, error) {
	free, err := r.freeBytes(r.cfg.Dir)
	if err != nil {
		return 0, err
	}
	for _, s := range r.sessions {
		if st, err := os.Stat(r.path(s.file.Partial)); err == nil {
			free -= st.Size()
		}
	}
	return free, nil
}

// checkSpaceLocked refuses a new recording when the disk is short. r.mu is
// held.
func (r *Recorder) checkSpaceLocked() error {
	if r.cfg.MinFreeBytes < 0 {
		return nil
	}
	spare, err := r.spareLocked()
	if err != nil || spare >= r.cfg.MinFreeBytes {
		return nil // a file system that cannot say is not refused
	}
	return fmt.Errorf("record: %d MB left for recordings, under the %d MB kept free (record.min_free_bytes)", spare>>20, r.cfg.MinFreeBytes>>20)
}

// shortOfSpace, run by watch, ends every recording in progress when the
// disk is short: what they have is finalised while there is room to, and
// the recording index, the class history and the other files on the disk
// keep room to write. It returns the sessions it took, for the caller to
// finish.
func (r *Recorder) shortOfSpace() []*session {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sessions) == 0 || r.cfg.MinFreeBytes < 0 {
		return nil
	}
	spare, err := r.spareLocked()
	if err != nil || spare >= r.cfg.MinFreeBytes {
		return nil
	}
	r.log.Error("the disk is short: recordings in progress end now, and new ones are refused until there is room",
		"spare_mb", spare>>20, "min_free_mb", r.cfg.MinFreeBytes>>20, "recordings", len(r.sessions))
	ended := make([]*session, 0, len(r.sessions))
	for key, s := range r.sessions {
		ended = append(ended, s)
		delete(r.sessions, key)
	}
	return ended
}
