package record

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/trtcd/trtcd/sfu"
)

// A member who comes back under another recordId within the resume window
// (a new lesson right after the last) gets the first recording finished,
// finalised and called back, and only the new one follows it on; before,
// the first went on recording beside it for ever and was never finalised.
func TestANewRecordIDFinishesTheOldRecording(t *testing.T) {
	video, audio := benchMedia(t, 2)
	media := newSFU(t)
	callbacks := newCallbackReceiver(t)
	dir := t.TempDir()
	rec := newRecorder(t, media, dir, callbacks.URL) // a resume window of an hour
	defer rec.Close()
	cam, err := media.Join("room", "alice", sfu.SourceAudio, sfu.SourceMain)
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	ctx, stop := context.WithCancel(context.Background())
	sent := make(chan struct{})
	go func() { sendUntil(ctx, cam, video, audio); close(sent) }()
	defer func() { stop(); <-sent }()

	start := func(recordID string) *File {
		t.Helper()
		if err := rec.Start(Request{SDKAppID: 1, Room: "room", RoomKey: "room", UserID: "alice", RecordID: recordID}); err != nil {
			t.Fatal(err)
		}
		var f *File
		waitCond(t, recordID+" to be recorded", 10*time.Second, func() bool {
			files, _ := rec.Files(func(f *File) bool { return f.RecordID == recordID })
			if len(files) == 1 {
				f = files[0]
			}
			return f != nil
		})
		return f
	}
	first := start("lesson-1")
	time.Sleep(time.Second) // a second of lesson 1
	start("lesson-2")
	waitCond(t, "lesson 1's file to be final", 10*time.Second, func() bool {
		f, err := rec.cfg.Store.Get(first.ID)
		return err == nil && f.State == StateDone
	})
	callbacks.waitDelivered(t, rec, first.ID)
	rec.mu.Lock()
	sessions := len(rec.sessions)
	rec.mu.Unlock()
	if sessions != 1 {
		t.Fatalf("%d recordings of alice's camera running, want 1 (lesson 2's)", sessions)
	}
	f, _ := rec.cfg.Store.Get(first.ID)
	if got := probeStreams(t, filepath.Join(dir, f.Name)); got != "h264,aac" || f.Duration < 0.5 {
		t.Fatalf("lesson 1's file has streams %q and lasts %.2f s, want h264 and aac, a second or so", got, f.Duration)
	}
}
