package classroom

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// Close is safe to call twice.
func TestStoreCloseTwice(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := OpenStore(db)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
}
