package record

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testffmpeg"
	"github.com/trtcd/trtcd/sfu"
)

// Two members recorded under one recordId that start and stop together
// (as close_room stops them) get a file each: the second name takes a
// suffix instead of replacing the first file, and each index entry names
// its own file, which plays.
func TestRecordingsSharingANameKeepBothFiles(t *testing.T) {
	testffmpeg.Require(t, "ffprobe")
	video, audio := benchMedia(t, 2)
	media := newSFU(t)
	dir := t.TempDir()
	rec := newRecorder(t, media, dir, "")
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	for _, user := range []string{"teacher", "student"} {
		s, err := media.Join("room", user, sfu.SourceAudio, sfu.SourceMain)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		go func() { sendUntil(ctx, s, video, audio); done <- struct{}{} }()
		if err := rec.Start(Request{SDKAppID: 1, Room: "room", RoomKey: "room", UserID: user, RecordID: "class-7"}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	stop()
	<-done
	<-done
	rec.mu.Lock()
	sessions := rec.sessions
	rec.sessions = map[string]*session{}
	rec.mu.Unlock()
	for _, s := range sessions {
		rec.finish(s) // as Close, or the end of the members, does
	}
	files, err := rec.Files(func(f *File) bool { return f.State == StateDone })
	if err != nil || len(files) != 2 {
		t.Fatalf("%d recordings done (%v), want 2", len(files), err)
	}
	if files[0].Name == files[1].Name {
		t.Fatalf("two recordings, one file: %s", files[0].Name)
	}
	for _, f := range files {
		st, err := os.Stat(rec.path(f.Name))
		if err != nil || st.Size() != f.Size {
			t.Fatalf("%s's file %s: %v, size %d against %d in the index", f.UserID, f.Name, err, st.Size(), f.Size)
		}
		if got := probeStreams(t, rec.path(f.Name)); got != "h264,aac" && got != "aac,h264" {
			t.Fatalf("%s's file %s has streams %q", f.UserID, f.Name, got)
		}
	}
}

// A name taken by a file already on disk is never replaced.
func TestAFinalFileNeverReplacesAnother(t *testing.T) {
	r := newRecorder(t, nil, t.TempDir(), "")
	defer r.Close()
	f := &File{RecordID: "class-7", Format: "mp4", Start: time.Unix(1000, 0), End: time.Unix(1060, 0)}
	taken := fileName(f)
	if err := os.WriteFile(r.path(taken), []byte("someone else's"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := r.freeName(f), "class-7_main_1000_1060_2.mp4"; got != want {
		t.Fatalf("with %s taken, the name is %s, want %s", taken, got, want)
	}
}

// Two members of one recordId that a crash cut in the same second both
// come back, each with its own file: the one finalised first on the
// restart does not take the name the other's entry already holds (it
// indexed it just before the crash), and the other is not completed on
// the first one's file, its own recording deleted.
func TestRecoveryLeavesAnIndexedNameToItsEntry(t *testing.T) {
	dir := t.TempDir()
	crashed := newRecorder(t, nil, dir, "")
	first := recordingInProgress(t, crashed, 3) // still recording at the crash; finalised first (older)
	named := recordingInProgress(t, crashed, 3) // crashed between indexing its name and linking its file
	if first.ID == named.ID {
		t.Fatal("two recordings, one id")
	}
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	first.Start, named.Start, named.End = start, start, start.Add(3*time.Second)
	named.Name, named.Duration, named.Size = fileName(named), 3, int64(len(mp3Frames(3)))
	crashed.cfg.Store.Put(first)
	crashed.cfg.Store.Put(named)
	crashed.Close()

	restarted := newRecorder(t, nil, dir, "")
	defer restarted.Close()
	expectOwnFiles(t, restarted, first.ID, named.ID)
}

// A file that took a recording's indexed name before its recovery (put
// there by hand, or by an older trtcd) is left alone, and the recording
// gets its own file under another name.
func TestRecoveryDoesNotTakeAnotherFileUnderItsIndexedName(t *testing.T) {
	dir := t.TempDir()
	crashed := newRecorder(t, nil, dir, "")
	f := recordingInProgress(t, crashed, 3)
	f.End = f.Start.Add(3 * time.Second)
	f.Name, f.Duration, f.Size = fileName(f), 3, int64(len(mp3Frames(3)))
	crashed.cfg.Store.Put(f)
	other := mp3Frames(1)
	os.WriteFile(crashed.path(f.Name), other, recordingFileMode)
	crashed.Close()

	restarted := newRecorder(t, nil, dir, "")
	defer restarted.Close()
	expectOwnFiles(t, restarted, f.ID)
	if b, err := os.ReadFile(restarted.path(f.Name)); err != nil || len(b) != len(other) {
		t.Fatalf("the other file under the name: %d bytes, %v; want it untouched", len(b), err)
	}
}

// expectOwnFiles checks each id is done under a name of its own, whose file
// holds the 3 s that entry recorded, and that partial/ is empty.
func expectOwnFiles(t *testing.T, r *Recorder, ids ...string) {
	t.Helper()
	names := map[string]bool{}
	for _, id := range ids {
		f, err := r.cfg.Store.Get(id)
		if err != nil || f.State != StateDone || names[f.Name] {
			t.Fatalf("entry %+v, %v; want done under a name of its own", f, err)
		}
		names[f.Name] = true
		st, err := os.Stat(r.path(f.Name))
		if err != nil || st.Size() != f.Size || f.Size != int64(len(mp3Frames(3))) {
			t.Fatalf("%s's file %s: %v, %v; want the 3 s it recorded", id, f.Name, st, err)
		}
	}
	if left, _ := os.ReadDir(r.path("partial")); len(left) != 0 {
		t.Fatalf("partial/ still holds %v", left)
	}
}
