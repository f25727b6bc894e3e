package record

import (
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The index of names, which freeName reads instead of every entry, holds
// exactly the names the entries hold: as they are indexed, renamed,
// finished and deleted, and after a start that finds entries an older
// trtcd wrote without it.
func TestTheIndexOfNamesFollowsTheEntries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	expect := func(name, id string, want bool) {
		t.Helper()
		if held, err := s.NameHeld(name, id); err != nil || held != want {
			t.Fatalf("NameHeld(%q, %q) = %v, %v; want %v", name, id, held, err, want)
		}
	}
	a := &File{ID: "a", Name: "x.mp4", State: StateRecording}
	b := &File{ID: "b", State: StateRecording}
	for _, f := range []*File{a, b} {
		if err := s.Put(f); err != nil {
			t.Fatal(err)
		}
	}
	expect("x.mp4", "b", true)
	expect("x.mp4", "a", false) // its own name
	expect("x.mp4_2.mp4", "b", false)

	b.Name = "x.mp4" // two entries on one name, as before names were made free
	s.Put(b)
	expect("x.mp4", "a", true)
	a.Name, a.State = "y.mp4", StateDone
	if err := s.Finish(a, false); err != nil {
		t.Fatal(err)
	}
	expect("x.mp4", "b", false)
	expect("y.mp4", "b", true)
	if err := s.Delete("b"); err != nil {
		t.Fatal(err)
	}
	expect("x.mp4", "", false)

	// An older trtcd indexes c without the index of names, and deletes a
	// leaving its name there.
	s.db.Update(func(tx *bolt.Tx) error {
		if err := putJSON(tx.Bucket(bucketFiles), "c", &File{ID: "c", Name: "z.mp4", Start: time.Unix(1, 0)}); err != nil {
			return err
		}
		return tx.Bucket(bucketFiles).Delete([]byte("a"))
	})
	s.Close()
	if s, err = OpenStore(path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	expect("z.mp4", "", true)
	expect("y.mp4", "", false)
}

// A name a deleted recording held is free again.
func TestANameIsFreeOnceItsRecordingIsDeleted(t *testing.T) {
	r := newRecorder(t, nil, t.TempDir(), "")
	defer r.Close()
	f := &File{RecordID: "class-7", Format: "mp4", Start: time.Unix(1000, 0), End: time.Unix(1060, 0)}
	holder := &File{ID: "holder", Name: fileName(f), Format: "mp4", State: StateDone}
	if err := r.cfg.Store.Put(holder); err != nil {
		t.Fatal(err)
	}
	if got, want := r.freeName(f), "class-7_main_1000_1060_2.mp4"; got != want {
		t.Fatalf("with the name indexed, the name is %s, want %s", got, want)
	}
	if err := r.Delete(holder.ID); err != nil {
		t.Fatal(err)
	}
	if got, want := r.freeName(f), fileName(f); got != want {
		t.Fatalf("with its holder deleted, the name is %s, want %s", got, want)
	}
}
