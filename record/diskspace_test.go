package record

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trtcd/trtcd/sfu"
)

// Short of disk, a recording in progress ends with its file finalised, and
// new ones are refused with the reason until there is room again.
func TestRecordingsStopBeforeTheDiskFills(t *testing.T) {
	video, audio := benchMedia(t, 2)
	media := newSFU(t)
	rec := newRecorder(t, media, t.TempDir(), "")
	var free atomic.Int64
	free.Store(100 << 30)
	rec.mu.Lock()
	rec.freeBytes = func(string) (int64, error) { return free.Load(), nil }
	rec.mu.Unlock()
	pub, err := media.Join("room", "alice", sfu.SourceAudio, sfu.SourceMain)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go sendUntil(ctx, pub, video, audio)
	req := Request{SDKAppID: 1, Room: "room", RoomKey: "room", UserID: "alice", RecordID: "lesson"}
	if err := rec.Start(req); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // media to keep: the check below asks for a quarter of it, as a busy machine delays the start

	free.Store(DefaultMinFreeBytes - 1)
	for deadline := time.Now().Add(5 * time.Second); rec.Recording("room", "alice"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the recording went on with the disk short")
		}
	}
	var done []*File
	for deadline := time.Now().Add(5 * time.Second); len(done) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the ended recording was not finalised")
		}
		done, _ = rec.Files(func(f *File) bool { return f.State == StateDone })
	}
	if len(done) != 1 || done[0].Duration < 0.5 {
		t.Fatalf("the ended recording: %d files done, the first %.1f s long; want one of about 2 s", len(done), done[0].Duration)
	}
	if err := rec.Start(req); err == nil || !strings.Contains(err.Error(), "min_free_bytes") {
		t.Fatalf("a recording started with the disk short: %v", err)
	}
	free.Store(100 << 30)
	if err := rec.Start(req); err != nil {
		t.Fatalf("with room again: %v", err)
	}
}
