package classroom

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Store keeps classrooms and their group messages in the data
// directory's embedded database, so a late joiner can replay the board
// after a restart or a kill -9.
type Store struct {
	db        *bolt.DB
	writes    chan *pendingWrite
	stopped   chan struct{}
	closeOnce sync.Once
}

type storedClass struct {
	Key     string    `json:"key"`
	App     uint32    `json:"app"`
	RoomID  uint32    `json:"roomId,omitempty"`
	StrRoom string    `json:"strRoomId,omitempty"`
	Creator string    `json:"creator"`
	Created time.Time `json:"created"`
	// Counted: the creator asked for it itself, so it counts against
	// ClassesPerUser (the application server's classes do not).
	Counted bool `json:"counted,omitempty"`
}

// pendingWrite is one stored message waiting for a group commit.
type pendingWrite struct {
	key      string
	seq      uint64
	msg      []byte
	cap      int // messages
	capBytes int
	done     chan error
}

var bucketClasses = []byte("classes")

func msgBucket(key string) []byte { return []byte("classmsg/" + key) }

// OpenStore opens (or creates) the store in db.
func OpenStore(db *bolt.DB) (*Store, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketClasses)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("classrooms: %w", err)
	}
	s := &Store{db: db, writes: make(chan *pendingWrite, 1024), stopped: make(chan struct{})}
	go s.writeLoop()
	return s, nil
}

// Close stops the writer after what is queued; calling it again does
// nothing.
func (s *Store) Close() {
	s.closeOnce.Do(func() { close(s.writes) })
	<-s.stopped
}

// writeLoop commits queued messages in groups: one transaction (one fsync)
// for everything that queued up meanwhile, so durable history does not cap
// the message rate at the disk's sync rate.
func (s *Store) writeLoop() {
	defer close(s.stopped)
	for w := range s.writes {
		batch := []*pendingWrite{w}
	more:
		for len(batch) < 512 {
			select {
			case w, ok := <-s.writes:
				if !ok {
					break more
				}
				batch = append(batch, w)
			default:
				break more
			}
		}
		err := s.db.Update(func(tx *bolt.Tx) error {
			for _, w := range batch {
				if err := putMessage(tx, w); err != nil {
					return err
				}
			}
			return nil
		})
		for _, w := range batch {
			w.done <- err
		}
	}
}

func putMessage(tx *bolt.Tx, w *pendingWrite) error {
	b, err := tx.CreateBucketIfNotExists(msgBucket(w.key))
	if err != nil {
		return err
	}
	size := historySize(b) + int64(len(w.msg))
	if err := b.Put(seqKey(w.seq), w.msg); err != nil {
		return err
	}
	size, err = trimHistory(b, w.seq, w.cap, size, int64(w.capBytes))
	if err != nil {
		return err
	}
	return b.Put(sizeKey, binary.BigEndian.AppendUint64(nil, uint64(size)))
}

// sizeKey holds the bytes of a class's stored messages. Sequence numbers
// start at 1, so the key of 0 is free, and sorts before every message.
var sizeKey = seqKey(0)

// historySize is what sizeKey holds, or, for a history stored before it
// was kept, the sum of the messages.
func historySize(b *bolt.Bucket) int64 {
	if v := b.Get(sizeKey); len(v) == 8 {
		return int64(binary.BigEndian.Uint64(v))
	}
	var size int64
	c := b.Cursor()
	for k, v := c.Seek(seqKey(1)); k != nil; k, v = c.Next() {
		size += int64(len(v))
	}
	return size
}

// trimHistory drops the oldest messages until the newest capacity are
// left, and those fit capBytes (size is theirs with the newest); the
// newest always stays. It returns the size left.
func trimHistory(b *bolt.Bucket, newest uint64, capacity int, size, capBytes int64) (int64, error) {
	c := b.Cursor()
	// Seek again after each delete: a bbolt cursor's Next after Delete
	// may skip a key.
	for k, v := c.Seek(seqKey(1)); k != nil; k, v = c.Seek(seqKey(1)) {
		seq := binary.BigEndian.Uint64(k)
		if seq == newest || (newest-seq < uint64(capacity) && size <= capBytes) {
			break
		}
		size -= int64(len(v))
		if err := c.Delete(); err != nil {
			return size, err
		}
	}
	return size, nil
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// append stores a message; the returned channel says when it is durable.
func (s *Store) append(key string, seq uint64, msg []byte, capacity, capBytes int) <-chan error {
	w := &pendingWrite{key: key, seq: seq, msg: msg, cap: capacity, capBytes: capBytes, done: make(chan error, 1)}
	s.writes <- w
	return w.done
}

func (s *Store) putClass(c storedClass) error {
	return s.db.Update(func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bucketClasses), c.Key, c) })
}

// deleteClass removes a class and its history.
func (s *Store) deleteClass(key string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(msgBucket(key)) != nil {
			if err := tx.DeleteBucket(msgBucket(key)); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketClasses).Delete([]byte(key))
	})
}

// classes loads every class with its last sequence number.
func (s *Store) classes() (map[storedClass]uint64, error) {
	out := map[storedClass]uint64{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketClasses).ForEach(func(_, v []byte) error {
			var c storedClass
			if err := json.Unmarshal(v, &c); err != nil {
				return err
			}
			var last uint64
			if b := tx.Bucket(msgBucket(c.Key)); b != nil {
				if k, _ := b.Cursor().Last(); k != nil {
					last = binary.BigEndian.Uint64(k)
				}
			}
			out[c] = last
			return nil
		})
	})
	return out, err
}

// history returns the stored messages after seq that fit a page of limit
// messages and maxBytes (pageFits), and whether more follow.
func (s *Store) history(key string, after uint64, limit, maxBytes int) ([]json.RawMessage, bool, error) {
	var out []json.RawMessage
	more, size := false, 0
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(msgBucket(key))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil; k, v = c.Next() {
			if !pageFits(len(out), size, len(v), limit, maxBytes) {
				more = true
				return nil
			}
			size += len(v) + 1
			out = append(out, append(json.RawMessage(nil), v...))
		}
		return nil
	})
	return out, more, err
}

func putJSON(b *bolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), data)
}
