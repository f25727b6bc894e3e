package record

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/rtpframe"
	"github.com/trtcd/trtcd/sfu"
)

// A crash at any point of finalising a recording loses nothing: on the
// next start the final file is in place and indexed once, the partial
// file and temporary files are gone, and the callback is delivered once.
func TestFinalizeSurvivesACrashAtEveryStep(t *testing.T) {
	for step, name := range []string{"final file written", "final name indexed", "final file renamed", "entry done"} {
		step := finalizeStep(step)
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "down", http.StatusServiceUnavailable) // the crashed process delivers nothing
			}))
			defer down.Close()
			receiver := newCallbackReceiver(t)

			crashed := newRecorder(t, nil, dir, down.URL)
			f := recordingInProgress(t, crashed, 3)
			crashed.crashAt = func(s finalizeStep) {
				if s == step {
					panic(errCrash)
				}
			}
			finalizeUntilCrash(t, crashed, f)
			crashed.Close()
			var inPlace os.FileInfo // a final file in place is kept, not made again
			if step >= stepRenamed {
				inPlace, _ = os.Stat(crashed.path(f.Name))
			}

			restarted := newRecorder(t, nil, dir, receiver.URL)
			defer restarted.Close()
			got := expectOneFinalFile(t, restarted, f.ID)
			if now, _ := os.Stat(restarted.path(got.Name)); inPlace != nil && !os.SameFile(inPlace, now) {
				t.Error("the final file in place before the crash was made again")
			}
			if got.Duration < 2.9 || got.Duration > 3.1 {
				t.Errorf("duration %v s, want the 3 s recorded", got.Duration)
			}
			receiver.waitDelivered(t, restarted, f.ID)
		})
	}
}

// Recordings, and the directories the recorder makes for them, are for
// the server's user and group only: a recording made from real media is
// 0640 while it is written and when final, in 0750 directories.
func TestRecordingsAre0640In0750Directories(t *testing.T) {
	video, audio := benchMedia(t, 1)
	media := newSFU(t)
	dir := filepath.Join(t.TempDir(), "record") // made by the recorder
	rec := newRecorder(t, media, dir, "")
	pub, err := media.Join("room", "alice", sfu.SourceAudio, sfu.SourceMain)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(Request{SDKAppID: 1, Room: "room", RoomKey: "room", UserID: "alice", RecordID: "perm"}); err != nil {
		t.Fatal(err)
	}
	sendMedia(pub, video[:25], audio[:50]) // 1 s
	pub.Close()
	var partials []string
	for end := time.Now().Add(30 * time.Second); len(partials) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("no partial file: nothing was recorded")
		}
		partials, _ = filepath.Glob(filepath.Join(dir, "partial", "*"))
	}
	expectMode(t, partials[0], recordingFileMode)
	rec.Close()

	finals, _ := filepath.Glob(filepath.Join(dir, "perm_main_*.mp4"))
	if len(finals) != 1 {
		t.Fatalf("final files %v, want one", finals)
	}
	expectMode(t, finals[0], recordingFileMode)
	expectMode(t, dir, fs.ModeDir|recordingDirMode)
	expectMode(t, filepath.Join(dir, "partial"), fs.ModeDir|recordingDirMode)
}

// A panic on a publisher's media (a bug in a writer) stops that recording
// and is counted; the recorder's goroutine returns instead of the process
// ending, and closing the broken writer is recovered too.
func TestPanicOnMediaStopsOnlyThatRecording(t *testing.T) {
	media := newSFU(t)
	rec := newRecorder(t, media, t.TempDir(), "")
	defer rec.Close()
	viewer, err := media.Join("room", "trtcd-recorder/alice")
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Close()
	s := &session{r: rec, file: &File{ID: "x", Partial: "partial/x.mp4"}, viewer: viewer, done: make(chan struct{}),
		rx: rtpframe.Follow(viewer, "alice", true, 0), out: panickingContainer{}, started: true}
	before := panics.Count(panics.Record)
	go s.run(context.Background())

	pub, err := media.Join("room", "alice", sfu.SourceAudio)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	track, err := pub.PublishTrack("a", sfu.SourceAudio, sfu.Codec{MimeType: sfu.MimeOpus, ClockRate: 48000, Channels: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := rtpframe.Packetizer{PayloadType: 111, SSRC: 2}
	// Packets until the session's goroutine has ended: the first ones may
	// come before the recorder follows the track.
	for i := uint32(0); ; i++ {
		track.Write(p.Packet(i*960, false, []byte{0xfc, 1, 2, 3}))
		select {
		case <-s.done:
		case <-time.After(20 * time.Millisecond):
			if i > 1500 {
				t.Fatal("the recording's goroutine did not end")
			}
			continue
		}
		break
	}
	if got := panics.Count(panics.Record) - before; got != 1 {
		t.Fatalf("%v panics counted, want 1", got)
	}
	if err := s.closeOut(); err == nil || panics.Count(panics.Record)-before != 2 {
		t.Fatalf("closing the broken writer: %v, %v panics", err, panics.Count(panics.Record)-before)
	}
}

type panickingContainer struct{}

func (panickingContainer) writeVideo([]byte, time.Duration, bool) error { panic("a writer bug") }
func (panickingContainer) writeAudio([]byte, uint32, time.Duration, bool) error {
	var m map[int]int
	m[0]++
	return nil
}
func (panickingContainer) close() error { panic("a writer bug on close") }

var errCrash = errors.New("simulated crash")

// finalizeUntilCrash runs finalize until the simulated crash stops it.
func finalizeUntilCrash(t *testing.T, r *Recorder, f *File) {
	t.Helper()
	defer func() {
		if v := recover(); v != errCrash {
			t.Fatalf("finalize ended with %v, want the simulated crash", v)
		}
	}()
	r.finalize(f)
}

// recordingInProgress indexes a recording whose partial file holds seconds
// of MP3, as a session leaves it when its publisher goes.
func recordingInProgress(t *testing.T, r *Recorder, seconds int) *File {
	t.Helper()
	id := newFileID(time.Now(), 1)
	f := &File{ID: id, RecordID: "rec1", SDKAppID: 1400000001, Room: "1234", RoomKey: "1400000001/1234", UserID: "alice",
		StreamID: "1400000001_1234_alice_main", Format: "mp3", State: StateRecording,
		Partial: filepath.Join("partial", id+".mp3"), Start: time.Now().Add(-time.Duration(seconds) * time.Second)}
	if err := os.WriteFile(r.path(f.Partial), mp3Frames(seconds), recordingFileMode); err != nil {
		t.Fatal(err)
	}
	if err := r.cfg.Store.Put(f); err != nil {
		t.Fatal(err)
	}
	return f
}

// mp3Frames is seconds of silent MPEG-1 Layer III frames at 128 kb/s,
// 48 kHz: 384-byte frames of 1152 samples.
func mp3Frames(seconds int) []byte {
	frame := make([]byte, 384)
	copy(frame, []byte{0xff, 0xfb, 0x94, 0x00}) // sync, MPEG-1 Layer III, 128 kb/s, 48 kHz
	var b []byte
	for range seconds * 48000 / 1152 {
		b = append(b, frame...)
	}
	return b
}

// expectOneFinalFile checks the index holds id done, under a final file
// that is there with its indexed size and alone, and that partial/ is
// empty.
func expectOneFinalFile(t *testing.T, r *Recorder, id string) *File {
	t.Helper()
	f, err := r.cfg.Store.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if f.State != StateDone || f.Name == "" {
		t.Fatalf("entry %+v, want done with a name", f)
	}
	info, err := os.Stat(r.path(f.Name))
	if err != nil || info.Size() != f.Size {
		t.Fatalf("final file: %v, %v; want %d bytes", info, err, f.Size)
	}
	finals, _ := filepath.Glob(r.path("*.mp3"))
	if len(finals) != 1 {
		t.Fatalf("final files %v, want one", finals)
	}
	if left, _ := os.ReadDir(r.path("partial")); len(left) != 0 {
		t.Fatalf("partial/ still holds %v", left)
	}
	return f
}

// callbackReceiver is an application server keeping the callbacks it
// accepted.
type callbackReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	cbs []Callback
}

func newCallbackReceiver(t *testing.T) *callbackReceiver {
	c := &callbackReceiver{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var cb Callback
		if err := json.NewDecoder(req.Body).Decode(&cb); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.cbs = append(c.cbs, cb)
		c.mu.Unlock()
	}))
	t.Cleanup(c.Close)
	return c
}

// got is the callbacks accepted so far.
func (c *callbackReceiver) got() []Callback {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Callback(nil), c.cbs...)
}

// waitFor waits until n callbacks arrived and returns them.
func (c *callbackReceiver) waitFor(t *testing.T, n int) []Callback {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if cbs := c.got(); len(cbs) >= n {
			return cbs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callbacks, want %d", len(c.got()), n)
		}
	}
}

// waitDelivered waits until r's outbox is empty and checks that the
// receiver got id's callback exactly once.
func (c *callbackReceiver) waitDelivered(t *testing.T, r *Recorder, id string) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		jobs, err := r.cfg.Store.DueJobs(time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("callback not delivered: %+v", jobs[0])
		}
	}
	n := 0
	for _, cb := range c.got() {
		if cb.FileID == id {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d callbacks for %s, want one (all: %+v)", n, id, c.got())
	}
}

func expectMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// The umask may take bits away, never add them.
	if got := info.Mode(); got&^want != 0 || got&0o600 != 0o600 {
		t.Errorf("%s is %v, want %v", filepath.Base(path), got, want)
	}
}

// newRecorder starts a recorder once it has finalised what a crash left.
func newRecorder(t *testing.T, media *sfu.SFU, dir, callbackURL string) *Recorder {
	t.Helper()
	r, err := New(Config{Dir: dir, SFU: media, Callback: CallbackConfig{URL: callbackURL}, ResumeWindow: time.Hour,
		Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	<-r.recovered
	return r
}

func newSFU(t *testing.T) *sfu.SFU {
	t.Helper()
	media, err := sfu.New(sfu.Config{Transport: sfu.TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true}, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(media.Close)
	return media
}

func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
