package record

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A 3 s recording that a crash cut, recovered an hour later, ends 3 s
// after it started: in the index, in its file name and in its callback,
// not at the restart.
func TestARecordingACrashCutEndsWithItsMediaNotAtTheRestart(t *testing.T) {
	dir := t.TempDir()
	receiver := newCallbackReceiver(t)
	crashed := newRecorder(t, nil, dir, "")
	f := recordingInProgress(t, crashed, 3)
	f.Start = time.Now().Add(-time.Hour).Truncate(time.Second) // recorded an hour ago, then kill -9
	crashed.cfg.Store.Put(f)
	crashed.Close()

	restarted := newRecorder(t, nil, dir, receiver.URL)
	defer restarted.Close()
	got := expectOneFinalFile(t, restarted, f.ID)
	if span := got.End.Sub(got.Start); span < 2900*time.Millisecond || span > 3100*time.Millisecond {
		t.Errorf("indexed from %v to %v, %v; want the 3 s recorded", got.Start, got.End, span)
	}
	if want := fmt.Sprintf("_%d_%d.mp3", f.Start.Unix(), f.Start.Unix()+3); !strings.HasSuffix(got.Name, want) {
		t.Errorf("file name %s, want it to end %s", got.Name, want)
	}
	if cb := receiver.waitFor(t, 1)[0]; cb.EndTime-cb.StartTime != 3 {
		t.Errorf("callback from %d to %d, want 3 s", cb.StartTime, cb.EndTime)
	}
}

// A restart does not wait for the recordings a crash left to be
// finalised (an hour-long one is rewritten, hundreds of megabytes): New
// returns while the disk is still busy with them, and they are finished
// all the same.
func TestARestartDoesNotWaitForCrashedRecordings(t *testing.T) {
	dir := t.TempDir()
	crashed := newRecorder(t, nil, dir, "")
	f := recordingInProgress(t, crashed, 3)
	crashed.Close()

	release := make(chan struct{})
	started := make(chan *Recorder, 1)
	go func() {
		r, err := New(Config{Dir: dir, Logger: testLogger(), writeFinal: func(format, partial, final string) (time.Duration, int64, error) {
			<-release // a slow disk
			return writeFinal(format, partial, final)
		}})
		if err != nil {
			t.Error(err)
		}
		started <- r
	}()
	var restarted *Recorder
	select {
	case restarted = <-started:
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("New waited for the crashed recording to be finalised")
	}
	defer restarted.Close()
	if got, _ := restarted.cfg.Store.Get(f.ID); got == nil || got.State != StateRecording {
		t.Fatalf("entry %+v while its final file is being written, want it still recording", got)
	}
	close(release)
	<-restarted.recovered
	expectOneFinalFile(t, restarted, f.ID)
}
