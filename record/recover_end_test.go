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
