package record

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// File states in the index.
const (
	StateRecording = "recording" // fragments are being written
	StateDone      = "done"      // final file in place, callback queued
	StateFailed    = "failed"    // nothing playable could be made; callback queued
	// StateFinalizing: recorded, but the disk refused the final file (full,
	// or an I/O error); the partial file is kept and finalising is tried
	// again at the next start and once there is room, a few times (see
	// Config.FinalizeRetry).
	StateFinalizing = "finalizing"
)

// File is one recording in the index.
type File struct {
	ID        string    `json:"id"`
	RecordID  string    `json:"recordId,omitempty"`
	SDKAppID  uint32    `json:"sdkAppId"`
	Room      string    `json:"room"` // numeric room id, or the string room id
	RoomKey   string    `json:"roomKey"`
	UserID    string    `json:"userId"`
	StreamID  string    `json:"streamId"` // {sdkAppId}_{room}_{user}_main, or _aux for the sub-stream
	Format    string    `json:"format"`   // mp4 or mp3
	State     string    `json:"state"`
	Start     time.Time `json:"startTime"`
	End       time.Time `json:"endTime,omitzero"`
	Duration  float64   `json:"duration"` // seconds of media
	Size      int64     `json:"size"`
	Name      string    `json:"name"`    // final file name under the data directory
	Partial   string    `json:"partial"` // the fragmented MP4 being written
	AudioOnly bool      `json:"audioOnly,omitempty"`
	// Sub marks a recording of the member's sub-stream (a screen share):
	// video only.
	Sub   bool   `json:"sub,omitempty"`
	Error string `json:"error,omitempty"`
	// While finalizing: how often the disk refused the final file, since
	// when, and when it is tried next.
	FinalizeAttempts    int       `json:"finalizeAttempts,omitempty"`
	FinalizeFailedSince time.Time `json:"finalizeFailedSince,omitzero"`
	FinalizeNext        time.Time `json:"finalizeNext,omitzero"`
}

// Job is a queued completion callback.
type Job struct {
	FileID   string    `json:"fileId"`
	Attempts int       `json:"attempts"`
	Next     time.Time `json:"next"`
	LastErr  string    `json:"lastError,omitempty"`
}

var (
	bucketFiles  = []byte("files")
	bucketOutbox = []byte("outbox")
	// bucketNames indexes the entries' final file names: a key per entry
	// holding a name, name NUL id (two entries may hold one name), so a
	// name's holders are found without reading every entry (NameHeld).
	bucketNames = []byte("fileNames")
)

// ErrNotFound is returned for an unknown file id.
var ErrNotFound = errors.New("record: no such file")

// Store is the recording index and the callback outbox, in one bbolt
// database so a file's state and its callback change together.
type Store struct {
	db    *bolt.DB
	owned bool // opened by OpenStore: Close closes it
}

// OpenStore opens (or creates) an index of its own at path.
func OpenStore(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("record: open index %s: %w", path, err)
	}
	s, err := NewStore(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// NewStore keeps the index in db, a database shared with other parts of
// the server. The index of names is built afresh, from the entries: one
// read of the index per start, and an older trtcd that wrote entries
// without it leaves it stale for no longer than its own run.
func NewStore(db *bolt.DB) (*Store, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketFiles, bucketOutbox} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return indexNames(tx)
	})
	if err != nil {
		return nil, fmt.Errorf("record: init index: %w", err)
	}
	return &Store{db: db}, nil
}

// indexNames builds bucketNames from bucketFiles.
func indexNames(tx *bolt.Tx) error {
	if tx.Bucket(bucketNames) != nil {
		if err := tx.DeleteBucket(bucketNames); err != nil {
			return err
		}
	}
	names, err := tx.CreateBucket(bucketNames)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketFiles).ForEach(func(k, v []byte) error {
		if name := nameOf(v); name != "" {
			return names.Put(nameKey(name, string(k)), []byte{})
		}
		return nil
	})
}

// nameOf is the final file name in an entry's JSON.
func nameOf(entry []byte) string {
	var f struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(entry, &f) != nil {
		return ""
	}
	return f.Name
}

func nameKey(name, id string) []byte { return []byte(name + "\x00" + id) }

// NameHeld says whether an entry other than id's holds name.
func (s *Store) NameHeld(name, id string) (bool, error) {
	held := false
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := nameKey(name, "")
		c := tx.Bucket(bucketNames).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if string(k[len(prefix):]) != id {
				held = true
				break
			}
		}
		return nil
	})
	return held, err
}

// putFile writes f's entry and keeps the index of names in step.
func putFile(tx *bolt.Tx, f *File) error {
	files, names := tx.Bucket(bucketFiles), tx.Bucket(bucketNames)
	if old := nameOf(files.Get([]byte(f.ID))); old != "" && old != f.Name {
		if err := names.Delete(nameKey(old, f.ID)); err != nil {
			return err
		}
	}
	if f.Name != "" {
		if err := names.Put(nameKey(f.Name, f.ID), []byte{}); err != nil {
			return err
		}
	}
	return putJSON(files, f.ID, f)
}

// Close closes the index's database if the Store opened it.
func (s *Store) Close() error {
	if !s.owned {
		return nil
	}
	return s.db.Close()
}

// Put writes a file's entry.
func (s *Store) Put(f *File) error {
	return s.db.Update(func(tx *bolt.Tx) error { return putFile(tx, f) })
}

// Finish records a final file and queues its callback in one transaction:
// a crash between the two can never lose the callback.
func (s *Store) Finish(f *File, queue bool) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := putFile(tx, f); err != nil {
			return err
		}
		if !queue {
			return nil
		}
		return putJSON(tx.Bucket(bucketOutbox), f.ID, &Job{FileID: f.ID, Next: time.Now()})
	})
}

// Get reads a file's entry.
func (s *Store) Get(id string) (*File, error) {
	var f File
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFiles).Get([]byte(id))
		if b == nil {
			return ErrNotFound
		}
		return json.Unmarshal(b, &f)
	})
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// Delete removes a file's entry and any pending callback.
func (s *Store) Delete(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		entry := tx.Bucket(bucketFiles).Get([]byte(id))
		if entry == nil {
			return ErrNotFound
		}
		if name := nameOf(entry); name != "" {
			if err := tx.Bucket(bucketNames).Delete(nameKey(name, id)); err != nil {
				return err
			}
		}
		tx.Bucket(bucketOutbox).Delete([]byte(id))
		return tx.Bucket(bucketFiles).Delete([]byte(id))
	})
}

// Files returns the entries that match keep, oldest first (ids sort by
// time, see newFileID).
func (s *Store) Files(keep func(*File) bool) ([]*File, error) {
	var out []*File
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFiles).ForEach(func(_, v []byte) error {
			var f File
			if err := json.Unmarshal(v, &f); err != nil {
				return err
			}
			if keep(&f) {
				out = append(out, &f)
			}
			return nil
		})
	})
	return out, err
}

// DueJobs returns the callbacks whose next attempt is at or before now.
func (s *Store) DueJobs(now time.Time) ([]*Job, error) {
	var out []*Job
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(_, v []byte) error {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return err
			}
			if !j.Next.After(now) {
				out = append(out, &j)
			}
			return nil
		})
	})
	return out, err
}

// Job reads a queued callback; ErrNotFound when it was delivered.
func (s *Store) Job(fileID string) (*Job, error) {
	var j Job
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox).Get([]byte(fileID))
		if b == nil {
			return ErrNotFound
		}
		return json.Unmarshal(b, &j)
	})
	if err != nil {
		return nil, err
	}
	return &j, nil
}

// Reschedule stores a failed attempt; Done removes a delivered job.
func (s *Store) Reschedule(j *Job) error {
	return s.db.Update(func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bucketOutbox), j.FileID, j) })
}

// Done removes a delivered callback from the outbox.
func (s *Store) Done(fileID string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketOutbox).Delete([]byte(fileID)) })
}

func putJSON(b *bolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), data)
}

// newFileID is time-ordered (so the index lists oldest first) and unique.
func newFileID(now time.Time, seq uint32) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:], uint64(now.UnixNano()))
	binary.BigEndian.PutUint32(b[8:], seq)
	return fmt.Sprintf("%x", b)
}
