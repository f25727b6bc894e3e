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
	r := &Recorder{cfg: Config{Dir: t.TempDir()}}
	f := &File{RecordID: "class-7", Format: "mp4", Start: time.Unix(1000, 0), End: time.Unix(1060, 0)}
	taken := fileName(f)
	if err := os.WriteFile(r.path(taken), []byte("someone else's"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := r.freeName(f), "class-7_main_1000_1060_2.mp4"; got != want {
		t.Fatalf("with %s taken, the name is %s, want %s", taken, got, want)
	}
}
