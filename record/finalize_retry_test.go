package record

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/testffmpeg"
	"github.com/trtcd/trtcd/sfu"
)

// A recording finalised while the disk is full is not lost: the entry
// waits, with its partial file, and no callback goes out; once the disk
// has room again the final file is made, plays, and the application gets
// exactly one callback, saying done.
func TestARecordingTheFullDiskRefusedIsFinalisedOnceThereIsRoom(t *testing.T) {
	testffmpeg.Require(t, "ffprobe")
	receiver := newCallbackReceiver(t)
	rec, err := New(Config{Dir: t.TempDir(), Callback: CallbackConfig{URL: receiver.URL, Key: "k"}, ResumeWindow: time.Hour,
		FinalizeRetry: time.Millisecond, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	var full atomic.Bool
	full.Store(true)
	rec.mu.Lock()
	rec.freeBytes = func(string) (int64, error) {
		if full.Load() {
			return 0, nil
		}
		return 100 << 30, nil
	}
	rec.mu.Unlock()
	rec.writeFinal = func(format, partial, final string) (time.Duration, int64, error) {
		if full.Load() {
			return 0, 0, &os.PathError{Op: "write", Path: final, Err: syscall.ENOSPC}
		}
		return writeFinal(format, partial, final)
	}

	f := recordingInProgress(t, rec, 3)
	rec.finalize(f)
	got, err := rec.cfg.Store.Get(f.ID)
	if err != nil || got.State != StateFinalizing {
		t.Fatalf("on a full disk the entry is %+v, %v; want it waiting to be finalised", got, err)
	}
	if _, err := os.Stat(rec.path(f.Partial)); err != nil {
		t.Fatalf("the partial file is gone: %v", err)
	}
	if jobs, _ := rec.cfg.Store.DueJobs(time.Now().Add(time.Hour)); len(jobs) != 0 || len(receiver.got()) != 0 {
		t.Fatalf("a callback for a file not made: %v %v", jobs, receiver.got())
	}

	full.Store(false) // the operator frees space
	for deadline := time.Now().Add(30 * time.Second); got.State != StateDone; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("with room again the entry stayed %+v", got)
		}
		got, _ = rec.cfg.Store.Get(f.ID)
	}
	expectOneFinalFile(t, rec, f.ID)
	probe, err := exec.Command(testffmpeg.Path(t, "ffprobe"), "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
		rec.path(got.Name)).CombinedOutput()
	if d, perr := strconv.ParseFloat(strings.TrimSpace(string(probe)), 64); err != nil || perr != nil || d < 2.9 || d > 3.1 {
		t.Fatalf("ffprobe on the final file: %q, %v; want 3 s", probe, err)
	}
	cbs := receiver.waitFor(t, 1)
	if cbs[0].FileID != f.ID || cbs[0].Status != StateDone || cbs[0].VideoURL == "" {
		t.Fatalf("callback %+v, want the file's, done, with its video_url", cbs[0])
	}
	time.Sleep(100 * time.Millisecond) // a second delivery would be due at once
	if n := len(receiver.got()); n != 1 {
		t.Fatalf("%d callbacks, want one", n)
	}
}

// A recording the disk refused and that a restart finds is finalised by
// the restart.
func TestARecordingTheDiskRefusedIsFinalisedAtTheNextStart(t *testing.T) {
	dir := t.TempDir()
	receiver := newCallbackReceiver(t)
	rec := newRecorder(t, nil, dir, receiver.URL)
	rec.writeFinal = func(_, _, final string) (time.Duration, int64, error) {
		return 0, 0, &os.PathError{Op: "write", Path: final, Err: syscall.EIO}
	}
	f := recordingInProgress(t, rec, 3)
	rec.finalize(f)
	rec.Close()

	restarted := newRecorder(t, nil, dir, receiver.URL)
	defer restarted.Close()
	expectOneFinalFile(t, restarted, f.ID)
	receiver.waitDelivered(t, restarted, f.ID)
}

// A partial file nothing playable can be made of ends failed, and the
// application is told: one callback with status failed, the reason, and
// no video_url.
func TestAnUnplayableRecordingEndsFailedWithACallbackSayingSo(t *testing.T) {
	receiver := newCallbackReceiver(t)
	rec := newRecorder(t, nil, t.TempDir(), receiver.URL)
	defer rec.Close()
	f := recordingInProgress(t, rec, 3)
	os.WriteFile(rec.path(f.Partial), []byte("not audio"), recordingFileMode)
	rec.finalize(f)
	if got, _ := rec.cfg.Store.Get(f.ID); got.State != StateFailed {
		t.Fatalf("entry %+v, want failed", got)
	}
	cb := receiver.waitFor(t, 1)[0]
	if cb.FileID != f.ID || cb.Status != StateFailed || cb.Error == "" || cb.VideoURL != "" || cb.FileSize != 0 {
		t.Fatalf("callback %+v, want the file's, failed, with a reason and no video_url", cb)
	}
}

// A final file the disk keeps refusing (a partial file on an unreadable
// sector fails with EIO every time) is not tried for ever: after
// maxFinalizeAttempts tries, further and further apart, the recording ends
// failed and the application gets one callback saying so, with the reason.
func TestARecordingTheDiskKeepsRefusingEndsFailedAfterTheLastTry(t *testing.T) {
	receiver := newCallbackReceiver(t)
	rec := newRecorder(t, nil, t.TempDir(), receiver.URL) // FinalizeRetry 30 s: watch leaves the retries to this test
	defer rec.Close()
	clock := time.Unix(1_800_000_000, 0)
	var tries atomic.Int32
	rec.mu.Lock()
	rec.now = func() time.Time { return clock } // only this goroutine moves it, between tries
	rec.freeBytes = func(string) (int64, error) { return 100 << 30, nil }
	rec.writeFinal = func(_, _, final string) (time.Duration, int64, error) {
		tries.Add(1)
		return 0, 0, &os.PathError{Op: "read", Path: final, Err: syscall.EIO}
	}
	rec.mu.Unlock()

	f := recordingInProgress(t, rec, 3)
	rec.finalize(f)
	var last time.Duration
	for i := 1; i < maxFinalizeAttempts; i++ {
		got, err := rec.cfg.Store.Get(f.ID)
		if err != nil || got.State != StateFinalizing || got.FinalizeAttempts != i {
			t.Fatalf("after %d tries the entry is %+v, %v; want finalizing, %d attempts", i, got, err, i)
		}
		if wait := got.FinalizeNext.Sub(clock); wait < last {
			t.Fatalf("try %d waits %v, less than the %v before", i+1, wait, last)
		}
		last = got.FinalizeNext.Sub(clock)
		rec.retryFinalizing() // not due yet: nothing is tried
		if n := tries.Load(); n != int32(i) {
			t.Fatalf("%d tries before the next was due, want %d", n, i)
		}
		clock = got.FinalizeNext
		rec.retryFinalizing()
	}
	if n := tries.Load(); n != maxFinalizeAttempts {
		t.Fatalf("%d tries, want %d", n, maxFinalizeAttempts)
	}
	got, err := rec.cfg.Store.Get(f.ID)
	if err != nil || got.State != StateFailed || !strings.Contains(got.Error, "input/output error") {
		t.Fatalf("after the last try the entry is %+v, %v; want failed, with the disk's error", got, err)
	}
	cb := receiver.waitFor(t, 1)[0]
	if cb.FileID != f.ID || cb.Status != StateFailed || cb.Error == "" || cb.VideoURL != "" {
		t.Fatalf("callback %+v, want the file's, failed, with a reason and no video_url", cb)
	}
	clock = clock.Add(48 * time.Hour)
	rec.retryFinalizing()
	if n := tries.Load(); n != maxFinalizeAttempts {
		t.Fatalf("a failed recording was tried again: %d tries", n)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := rec.cfg.Store.Job(f.ID); err == ErrNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the failed callback stays queued")
		}
	}
	if jobs, _ := rec.cfg.Store.DueJobs(time.Now().Add(time.Hour)); len(jobs) != 0 || len(receiver.got()) != 1 {
		t.Fatalf("more callbacks: %v %v", jobs, receiver.got())
	}
}

// While a recording the disk refused is finalised again (minutes, for a
// long one), the recorder goes on ending the sessions whose publisher left.
func TestIdleSessionsEndWhileARefusedRecordingIsTriedAgain(t *testing.T) {
	media := newSFU(t)
	rec, err := New(Config{Dir: t.TempDir(), SFU: media, ResumeWindow: time.Nanosecond, FinalizeRetry: time.Millisecond,
		Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	refused := recordingInProgress(t, rec, 3)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) }) // before Close, which waits for the retry
	rec.mu.Lock()
	rec.freeBytes = func(string) (int64, error) { return 100 << 30, nil }
	rec.writeFinal = func(format, partial, final string) (time.Duration, int64, error) {
		if partial == rec.path(refused.Partial) {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
		}
		return writeFinal(format, partial, final)
	}
	rec.mu.Unlock()
	refused.State = StateFinalizing
	if err := rec.cfg.Store.Put(refused); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the refused recording was not tried again")
	}

	if err := rec.Start(Request{SDKAppID: 1, Room: "room", RoomKey: "room", UserID: "alice"}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); rec.Recording("room", "alice"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a session idle past the resume window was not ended while a retry ran")
		}
	}
	once.Do(func() { close(release) })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if got, _ := rec.cfg.Store.Get(refused.ID); got != nil && got.State == StateDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the refused recording was not finalised once the retry went on")
		}
	}
}

// Recordings that end together (a class ends) are finalised side by side:
// while one final file is slow to write, the next is written too, and the
// watch goes on.
func TestEndedRecordingsAreFinalisedSideBySide(t *testing.T) {
	video, audio := benchMedia(t, 1)
	media := newSFU(t)
	rec, err := New(Config{Dir: t.TempDir(), SFU: media, ResumeWindow: 300 * time.Millisecond, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	entered, release := make(chan string, 2), make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) }) // before Close, which waits for the final files
	rec.mu.Lock()
	rec.writeFinal = func(format, partial, final string) (time.Duration, int64, error) {
		entered <- partial
		<-release // a slow disk
		return writeFinal(format, partial, final)
	}
	rec.mu.Unlock()
	users := []string{"alice", "bob"}
	for _, user := range users {
		pub, err := media.Join("room", user, sfu.SourceAudio, sfu.SourceMain)
		if err != nil {
			t.Fatal(err)
		}
		if err := rec.Start(Request{SDKAppID: 1, Room: "room", RoomKey: "room", UserID: user, RecordID: user}); err != nil {
			t.Fatal(err)
		}
		sendMedia(pub, video[:25], audio[:50])
		defer pub.Close()
	}
	for range users {
		select {
		case <-entered:
		case <-time.After(30 * time.Second):
			t.Fatal("one final file waited for the other to be written")
		}
	}
	once.Do(func() { close(release) })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		done, _ := rec.cfg.Store.Files(func(f *File) bool { return f.State == StateDone })
		if len(done) == len(users) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d recordings finalised", len(done), len(users))
		}
	}
}
