package record

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/rtpframe"
	"github.com/trtcd/trtcd/sfu"
)

// Config configures the recorder.
type Config struct {
	Dir      string // recordings and the index live here
	SFU      *sfu.SFU
	Callback CallbackConfig
	// PublicURL is this server's base URL as applications reach it
	// (http://host:port): video_url in callbacks points there.
	PublicURL string
	// ResumeWindow: a publisher that comes back within it continues the
	// same file [10s].
	ResumeWindow time.Duration
	// FragmentDuration bounds what a crash can lose [1s].
	FragmentDuration time.Duration
	// KeepOpus records WebRTC audio as Opus in the MP4 instead of AAC.
	KeepOpus bool
	// DownloadTTL is how long a signed download URL works [7 days].
	DownloadTTL time.Duration
	Logger      *slog.Logger

	// DB, when set, holds the index (a database shared with the rest of
	// the server); otherwise New opens Dir/index.db.
	DB *bolt.DB

	// Store is set up by New.
	Store *Store
}

// Request asks for a publisher to be recorded.
type Request struct {
	SDKAppID uint32
	Room     string // as the client gave it (numeric or string id)
	RoomKey  string // the SFU's room key
	UserID   string
	RecordID string // the business recordId; may be empty
	// PureAudio is pureAudioPushMod: 1 records audio only (MP4), 2 records
	// an MP3.
	PureAudio int
}

// Recorder records publishers into files, keeps the index and delivers
// the callbacks.
type Recorder struct {
	cfg    Config
	log    *slog.Logger
	urlKey []byte
	notify *notifier
	ctx    context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	sessions map[string]*session // by room key and user
	seq      uint32

	crashAt func(finalizeStep) // a test's simulated crash; nil otherwise
}

// New opens the index in cfg.Dir, finalises recordings a crash left
// behind, and starts delivering callbacks.
func New(cfg Config) (*Recorder, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ResumeWindow <= 0 {
		cfg.ResumeWindow = 10 * time.Second
	}
	if cfg.FragmentDuration <= 0 {
		cfg.FragmentDuration = time.Second
	}
	if cfg.DownloadTTL <= 0 {
		cfg.DownloadTTL = 7 * 24 * time.Hour
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "partial"), recordingDirMode); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	key, err := loadOrCreateKey(filepath.Join(cfg.Dir, "url.key"))
	if err != nil {
		return nil, err
	}
	if cfg.DB != nil {
		cfg.Store, err = NewStore(cfg.DB)
	} else {
		cfg.Store, err = OpenStore(filepath.Join(cfg.Dir, "index.db"))
	}
	if err != nil {
		return nil, err
	}
	r := &Recorder{cfg: cfg, log: cfg.Logger.With("component", "record"), urlKey: key, sessions: map[string]*session{}}
	r.ctx, r.stop = context.WithCancel(context.Background())
	r.notify = &notifier{cfg: cfg.Callback, store: cfg.Store, log: r.log, client: &http.Client{},
		videoURL: r.DownloadURL, wake: make(chan struct{}, 1)}
	r.recoverCrashed()
	r.wg.Add(2)
	go func() { defer r.wg.Done(); r.notify.run(r.ctx) }()
	go func() { defer r.wg.Done(); r.watch() }()
	return r, nil
}

// Start records a publisher, or continues its recording when it comes
// back within the resume window. It returns at once; recording begins
// with the publisher's first keyframe.
func (r *Recorder) Start(req Request) error {
	key := req.RoomKey + "\x00" + req.UserID
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.sessions[key]; s != nil && s.file.RecordID == req.RecordID {
		s.touch()
		return nil
	}
	if r.ctx.Err() != nil {
		return errors.New("record: the recorder is closed")
	}
	viewer, err := r.cfg.SFU.Join(req.RoomKey, "trtcd-recorder/"+req.UserID)
	if err != nil {
		return fmt.Errorf("record: join room: %w", err)
	}
	r.seq++
	f := &File{ID: newFileID(time.Now(), r.seq), RecordID: req.RecordID, SDKAppID: req.SDKAppID, Room: req.Room,
		RoomKey: req.RoomKey, UserID: req.UserID, StreamID: fmt.Sprintf("%d_%s_%s_main", req.SDKAppID, req.Room, req.UserID),
		Format: "mp4", State: StateRecording, AudioOnly: req.PureAudio == 1 || req.PureAudio == 2}
	if req.PureAudio == 2 {
		f.Format = "mp3"
	}
	f.Partial = filepath.Join("partial", f.ID+"."+f.Format)
	ctx, cancel := context.WithCancel(r.ctx)
	s := &session{r: r, file: f, viewer: viewer, cancel: cancel, done: make(chan struct{}),
		rx: rtpframe.Follow(viewer, req.UserID, true, !f.AudioOnly)}
	s.touch()
	r.sessions[key] = s
	r.wg.Add(1)
	go func() { defer r.wg.Done(); s.run(ctx) }()
	r.log.Info("recording", "file", f.ID, "record_id", f.RecordID, "room", req.RoomKey, "user", req.UserID, "format", f.Format)
	return nil
}

// Records says whether a recording with recordID runs here.
func (r *Recorder) Records(recordID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.sessions {
		if s.file.RecordID == recordID {
			return true
		}
	}
	return false
}

// Recording says whether a recording of userID in the room runs here.
func (r *Recorder) Recording(roomKey, userID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sessions[roomKey+"\x00"+userID] != nil
}

// RecordIDs lists the recordIds of the recordings running here.
func (r *Recorder) RecordIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for _, s := range r.sessions {
		seen[s.file.RecordID] = s.file.RecordID != ""
	}
	var out []string
	for id, ok := range seen {
		if ok {
			out = append(out, id)
		}
	}
	return out
}

// watch ends sessions whose publisher stayed away for the resume window.
func (r *Recorder) watch() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case now := <-tick.C:
			r.mu.Lock()
			var ended []*session
			for key, s := range r.sessions {
				if s.idleFor(now) > r.cfg.ResumeWindow {
					ended = append(ended, s)
					delete(r.sessions, key)
				}
			}
			r.mu.Unlock()
			for _, s := range ended {
				r.finish(s)
			}
		}
	}
}

// finish stops a session and makes its final file.
func (r *Recorder) finish(s *session) {
	s.cancel()
	s.viewer.Close()
	<-s.done
	f := s.file
	if !s.started {
		r.log.Info("nothing was recorded", "file", f.ID, "user", f.UserID)
		r.cfg.Store.Delete(f.ID)
		return
	}
	if err := s.closeOut(); err != nil {
		r.log.Error("closing a recording", "file", f.ID, "err", err)
	}
	r.finalize(f)
}

// finalize turns a partial file into the final one, indexes it, queues its
// callback and removes the partial file, in an order that a crash at any
// point leaves something recoverCrashed completes: the final file's name is
// in the index before the file appears under it, and the partial file goes
// only once the entry is done and its callback queued. An entry that
// already names an existing final file (a crash came after the rename) is
// only completed.
func (r *Recorder) finalize(f *File) {
	if f.Name == "" || !exists(r.path(f.Name)) {
		if err := r.makeFinal(f); err != nil {
			f.State, f.Error = StateFailed, err.Error()
			r.log.Error("finalising a recording", "file", f.ID, "err", err)
			r.cfg.Store.Put(f)
			return
		}
	}
	r.complete(f)
}

// makeFinal writes the final file from the partial one and renames it into
// place, durably, under a name the index holds first.
func (r *Recorder) makeFinal(f *File) error {
	if f.End.IsZero() { // a recovery after a crash keeps the end the index holds (it names the file)
		f.End = time.Now()
	}
	tmp := r.path(f.Partial) + ".final"
	duration, size, err := r.runFinalizer(f, tmp)
	if err == nil {
		err = syncFile(tmp, recordingFileMode)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	r.crashPoint(stepFinalWritten)
	f.Duration, f.Size = duration.Seconds(), size
	if f.Start.IsZero() || f.End.Sub(f.Start) < duration {
		f.Start = f.End.Add(-duration)
	}
	f.Name = fileName(f)
	if err := r.cfg.Store.Put(f); err != nil {
		os.Remove(tmp)
		return err
	}
	r.crashPoint(stepNamed)
	if err := os.Rename(tmp, r.path(f.Name)); err != nil {
		return err
	}
	syncDir(r.cfg.Dir)
	r.crashPoint(stepRenamed)
	return nil
}

// runFinalizer rewrites the partial file, whose bytes come from a client's
// media, into tmp; a panic on them fails this file, not the process.
func (r *Recorder) runFinalizer(f *File, tmp string) (d time.Duration, size int64, err error) {
	defer func() {
		if v := recover(); v != nil {
			panics.Report(panics.Record, v, r.cfg.Logger)
			err = fmt.Errorf("record: finalising %s panicked: %v", f.Partial, v)
		}
	}()
	out := mp4Finalizer
	if f.Format == "mp3" {
		out = finalizeMP3
	}
	return out(r.path(f.Partial), tmp)
}

// complete marks the entry done and queues its callback in one
// transaction, then removes the partial file. Should the index fail, the
// partial file stays and the next start completes the entry.
func (r *Recorder) complete(f *File) {
	f.State = StateDone
	if err := r.cfg.Store.Finish(f, true); err != nil {
		r.log.Error("indexing a recording", "file", f.ID, "err", err)
		return
	}
	r.crashPoint(stepIndexed)
	os.Remove(r.path(f.Partial))
	r.log.Info("recording done", "file", f.ID, "name", f.Name, "duration_s", f.Duration, "bytes", f.Size)
	select {
	case r.notify.wake <- struct{}{}:
	default:
	}
}

// Modes of what the recorder creates: recordings are readable by the
// server's group (a backup or a web server), by no one else.
const (
	recordingFileMode = 0o640
	recordingDirMode  = 0o750
)

// syncFile sets path's mode and makes its data durable before an index
// entry points at it.
func syncFile(path string, mode os.FileMode) error {
	file, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer file.Close()
	if err := file.Chmod(mode); err != nil {
		return err
	}
	return file.Sync()
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// finalizeStep names the points between finalize's durable steps, where a
// test stops it to play a crash.
type finalizeStep int

const (
	stepFinalWritten finalizeStep = iota // the final file is written under a temporary name
	stepNamed                            // the index holds the final name
	stepRenamed                          // the final file is in place
	stepIndexed                          // the entry is done, its callback queued
)

func (r *Recorder) crashPoint(step finalizeStep) {
	if r.crashAt != nil {
		r.crashAt(step)
	}
}

// fileName names a file as TRTC does: <recordId>_<streamType>_<start>_<end>
// with a recordId, else <sdkAppId>_<roomId>_<userId>_main_<start>_<end>.
func fileName(f *File) string {
	prefix := f.StreamID
	if f.RecordID != "" {
		prefix = f.RecordID + "_main"
	}
	return fmt.Sprintf("%s_%d_%d.%s", prefix, f.Start.Unix(), f.End.Unix(), f.Format)
}

// recoverCrashed completes what a crash left behind, whatever finalize
// step it came at: an entry still recording is finalised (or only
// completed, when its final file is in place) or, with no file at all,
// dropped; then what partial/ holds for no unfinished entry goes.
func (r *Recorder) recoverCrashed() {
	files, err := r.cfg.Store.Files(func(f *File) bool { return f.State == StateRecording })
	if err != nil {
		r.log.Error("reading the recording index", "err", err)
		return
	}
	for _, f := range files {
		if f.Name != "" && exists(r.path(f.Name)) || exists(r.path(f.Partial)) {
			r.log.Warn("finalising a recording interrupted by a crash", "file", f.ID, "record_id", f.RecordID)
			r.finalize(f)
			continue
		}
		r.cfg.Store.Delete(f.ID) // nothing was written before the crash
	}
	r.sweepPartials()
}

// sweepPartials removes the files in partial/ that no entry recording or
// failed (kept for a look) owns: the partial file of an entry that a crash
// left done, and temporary final files.
func (r *Recorder) sweepPartials() {
	unfinished, err := r.cfg.Store.Files(func(f *File) bool { return f.State != StateDone && f.Partial != "" })
	if err != nil {
		return
	}
	keep := map[string]bool{}
	for _, f := range unfinished {
		keep[filepath.Clean(f.Partial)] = true
	}
	entries, _ := os.ReadDir(r.path("partial"))
	for _, e := range entries {
		if name := filepath.Join("partial", e.Name()); !keep[name] {
			os.Remove(r.path(name))
		}
	}
}

// Close finishes every recording in progress (their files are finalised
// and indexed) and stops the callbacks; undelivered ones stay queued.
func (r *Recorder) Close() {
	r.mu.Lock()
	sessions := r.sessions
	r.sessions = map[string]*session{}
	r.mu.Unlock()
	for _, s := range sessions {
		r.finish(s)
	}
	r.stop()
	r.wg.Wait()
	r.cfg.Store.Close()
}

func (r *Recorder) path(name string) string { return filepath.Join(r.cfg.Dir, name) }

// loadOrCreateKey keeps the secret that signs download URLs, so they stay
// valid across restarts.
func loadOrCreateKey(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return b, nil
	}
	b := make([]byte, 32)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	return b, nil
}

// DownloadURL is a signed, expiring URL for a final file.
func (r *Recorder) DownloadURL(f *File) string {
	expires := time.Now().Add(r.cfg.DownloadTTL).Unix()
	return fmt.Sprintf("%s/v1/record/download/%s?expires=%d&sign=%s", r.cfg.PublicURL, f.ID, expires, r.sign(f.ID, expires))
}

func (r *Recorder) sign(id string, expires int64) string {
	m := hmac.New(sha256.New, r.urlKey)
	fmt.Fprintf(m, "%s|%d", id, expires)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyDownload checks a signed download URL's expires and sign.
func (r *Recorder) VerifyDownload(id, expires, sign string, now time.Time) bool {
	t, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || now.Unix() > t {
		return false
	}
	return hmac.Equal([]byte(sign), []byte(r.sign(id, t)))
}

// Files lists indexed files that match keep.
func (r *Recorder) Files(keep func(*File) bool) ([]*File, error) { return r.cfg.Store.Files(keep) }

// Open opens a final file for download.
func (r *Recorder) Open(id string) (*File, *os.File, error) {
	f, err := r.cfg.Store.Get(id)
	if err != nil {
		return nil, nil, err
	}
	if f.State != StateDone {
		return nil, nil, fmt.Errorf("record: file %s is %s", id, f.State)
	}
	file, err := os.Open(r.path(f.Name))
	return f, file, err
}

// Delete removes a final file and its entry.
func (r *Recorder) Delete(id string) error {
	f, err := r.cfg.Store.Get(id)
	if err != nil {
		return err
	}
	if f.State == StateRecording {
		return fmt.Errorf("record: file %s is still being recorded", id)
	}
	if f.Name != "" {
		if err := os.Remove(r.path(f.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return r.cfg.Store.Delete(id)
}
