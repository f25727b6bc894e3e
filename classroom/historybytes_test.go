package classroom

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// A class's stored history is capped in bytes as well as in messages: the
// oldest go first, the newest always stays, and a history stored before
// its size was kept is measured once.
func TestStoredHistoryIsCappedInBytes(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := OpenStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msg := func(seq int, size int) []byte {
		return fmt.Appendf(nil, `{"seq":%d,"text":"%s"}`, seq, strings.Repeat("x", size))
	}
	put := func(seq, size, capacity, capBytes int) {
		t.Helper()
		if err := <-s.append("c", uint64(seq), msg(seq, size), capacity, capBytes); err != nil {
			t.Fatal(err)
		}
	}
	kept := func() (seqs []int, size int) {
		t.Helper()
		page, _, err := s.history("c", 0, 1000, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			var seq int
			fmt.Sscanf(string(m), `{"seq":%d`, &seq)
			seqs = append(seqs, seq)
			size += len(m)
		}
		return seqs, size
	}
	stored := func() int64 {
		var n int64
		db.View(func(tx *bolt.Tx) error {
			n = int64(binary.BigEndian.Uint64(tx.Bucket(msgBucket("c")).Get(sizeKey)))
			return nil
		})
		return n
	}

	for seq := 1; seq <= 10; seq++ { // 10 × 120 bytes into 500
		put(seq, 100, 1000, 500)
	}
	if seqs, size := kept(); fmt.Sprint(seqs) != "[7 8 9 10]" || int64(size) != stored() {
		t.Fatalf("kept %v (%d bytes, %d counted), want the newest 4 of 120 bytes in 500", seqs, size, stored())
	}
	put(11, 2000, 1000, 500) // bigger than the cap alone
	if seqs, _ := kept(); fmt.Sprint(seqs) != "[11]" {
		t.Fatalf("after a message over the cap: kept %v, want the newest alone", seqs)
	}
	for seq := 12; seq <= 15; seq++ {
		put(seq, 10, 3, 1<<20)
	}
	if seqs, size := kept(); fmt.Sprint(seqs) != "[13 14 15]" || int64(size) != stored() {
		t.Fatalf("kept %v (%d bytes, %d counted), want the newest 3 messages", seqs, size, stored())
	}
	// An older store's history has no size yet: measured on the next append.
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(msgBucket("c")).Delete(sizeKey) })
	put(16, 10, 1000, 1<<20)
	if seqs, size := kept(); fmt.Sprint(seqs) != "[13 14 15 16]" || int64(size) != stored() {
		t.Fatalf("kept %v (%d bytes, %d counted) after measuring an older history", seqs, size, stored())
	}
}
