package record

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

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
	// MinFreeBytes is the disk kept free beside the recordings in progress
	// (each counted twice: finalising rewrites it) [2 GiB; negative: no
	// check]. Short of it, recordings in progress end and new ones are
	// refused, so the index and everything else on the disk can write.
	MinFreeBytes int64
	// FinalizeRetry is how soon recordings the disk refused to finalise
	// (full, or an I/O error) are tried again, when there is room [30s];
	// the wait doubles with each refusal, and after 10 refusals, or 24 h
	// of them, the recording ends failed.
	FinalizeRetry time.Duration
	Logger        *slog.Logger

	// DB, when set, holds the index (a database shared with the rest of
	// the server); otherwise New opens Dir/index.db.
	DB *bolt.DB

	// Store is set up by New.
	Store *Store

	// writeFinal, when set (tests), replaces writeFinal from the start,
	// crash recovery included.
	writeFinal func(format, partial, final string) (time.Duration, int64, error)
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
	sessions map[string]*session // by room key and user (sessionKey)
	sharing  map[string]bool     // members whose sub-stream is published here, by room key and user
	seq      uint32
	naming   sync.Mutex // held while a final file's name is chosen and taken
	retrying sync.Mutex // held while the recordings the disk refused, or a crash left, are finalised (startRetry, recover)
	// recovered is closed once the recordings a crash left are finalised.
	recovered chan struct{}
	// finalizing holds a token for each ended session's final file being
	// written (finishAside).
	finalizing chan struct{}

	crashAt    func(finalizeStep)                                                // a test's simulated crash; nil otherwise
	now        func() time.Time                                                  // the clock of finalising retries (time.Now; a test's own)
	freeBytes  func(string) (int64, error)                                       // the disk's free space (freeBytes; a test's own)
	writeFinal func(format, partial, final string) (time.Duration, int64, error) // writeFinal; a test's failing disk
}

// New opens the index in cfg.Dir, starts finalising the recordings a
// crash left behind, and starts delivering callbacks. It does not wait
// for the finalising: a restart with hours of recordings to finish
// serves at once.
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
	if cfg.MinFreeBytes == 0 {
		cfg.MinFreeBytes = DefaultMinFreeBytes
	}
	if cfg.FinalizeRetry <= 0 {
		cfg.FinalizeRetry = 30 * time.Second
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
	r := &Recorder{cfg: cfg, log: cfg.Logger.With("component", "record"), urlKey: key, sessions: map[string]*session{},
		sharing: map[string]bool{}, freeBytes: freeBytes, writeFinal: cfg.writeFinal, now: time.Now,
		recovered: make(chan struct{}), finalizing: make(chan struct{}, maxFinalizing)}
	if r.writeFinal == nil {
		r.writeFinal = writeFinal
	}
	r.ctx, r.stop = context.WithCancel(context.Background())
	r.notify = &notifier{cfg: cfg.Callback, store: cfg.Store, log: r.log, client: &http.Client{},
		videoURL: r.DownloadURL, wake: make(chan struct{}, 1)}
	crashed := r.crashedFiles()
	r.retrying.Lock() // retries wait for the recovery
	r.wg.Add(3)
	go func() { defer r.wg.Done(); r.recover(crashed) }()
	go func() { defer r.wg.Done(); r.notify.run(r.ctx) }()
	go func() { defer r.wg.Done(); r.watch() }()
	return r, nil
}

// Start records a publisher, or continues its recording when it comes
// back within the resume window. It returns at once; recording begins
// with the publisher's first keyframe. A publisher sharing its screen
// (SubStream) has the sub-stream recorded beside, in a file of its own.
func (r *Recorder) Start(req Request) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := sessionKey(req.RoomKey, req.UserID, sfu.SourceMain)
	if s := r.sessions[key]; s != nil && s.file.RecordID == req.RecordID {
		s.touch()
	} else {
		r.endLocked(key)
		f := &File{RecordID: req.RecordID, SDKAppID: req.SDKAppID, Room: req.Room, RoomKey: req.RoomKey, UserID: req.UserID,
			StreamID: streamID(req.SDKAppID, req.Room, req.UserID, sfu.SourceMain), Format: "mp4",
			AudioOnly: req.PureAudio == 1 || req.PureAudio == 2}
		if req.PureAudio == 2 {
			f.Format = "mp3"
		}
		if err := r.startLocked(key, f); err != nil {
			return err
		}
	}
	if r.sharing[sessionKey(req.RoomKey, req.UserID, sfu.SourceSub)] {
		return r.recordSubLocked(r.sessions[key].file)
	}
	return nil
}

// SubStream is told when a member starts (published) or stops sharing its
// screen here (sfu.Config.OnTrack for sfu.SourceSub, of local members and
// of relayed ones alike). While a recorded member shares, its sub-stream
// is recorded as a file of its own, stream id "..._aux", with its own
// callback; it ends as a main recording does, after the resume window
// without frames, so a share stopped and restarted within it continues
// the file. Members recorded as audio only (pureAudioPushMod 1 or 2) have
// no sub-stream recorded: it is video, and they asked for none.
func (r *Recorder) SubStream(roomKey, userID string, published bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sub := sessionKey(roomKey, userID, sfu.SourceSub)
	if !published {
		delete(r.sharing, sub)
		return
	}
	r.sharing[sub] = true
	if s := r.sessions[sessionKey(roomKey, userID, sfu.SourceMain)]; s != nil {
		if err := r.recordSubLocked(s.file); err != nil {
			r.log.Error("the sub-stream's recording did not start", "room", roomKey, "user", userID, "err", err)
		}
	}
}

// recordSubLocked records (or keeps recording) the sub-stream of the
// member whose main recording is main. r.mu is held.
func (r *Recorder) recordSubLocked(main *File) error {
	if main.AudioOnly {
		return nil
	}
	key := sessionKey(main.RoomKey, main.UserID, sfu.SourceSub)
	if s := r.sessions[key]; s != nil && s.file.RecordID == main.RecordID {
		s.touch()
		return nil
	}
	r.endLocked(key)
	return r.startLocked(key, &File{RecordID: main.RecordID, SDKAppID: main.SDKAppID, Room: main.Room, RoomKey: main.RoomKey,
		UserID: main.UserID, StreamID: streamID(main.SDKAppID, main.Room, main.UserID, sfu.SourceSub), Format: "mp4", Sub: true})
}

// startLocked starts recording f, a new file, as the session key. r.mu is
// held.
func (r *Recorder) startLocked(key string, f *File) error {
	if r.ctx.Err() != nil {
		return errors.New("record: the recorder is closed")
	}
	if err := r.checkSpaceLocked(); err != nil {
		return err
	}
	viewer, err := r.cfg.SFU.Join(f.RoomKey, "trtcd-recorder/"+f.UserID)
	if err != nil {
		return fmt.Errorf("record: join room: %w", err)
	}
	r.seq++
	f.ID, f.State = newFileID(time.Now(), r.seq), StateRecording
	f.Partial = filepath.Join("partial", f.ID+"."+f.Format)
	ctx, cancel := context.WithCancel(r.ctx)
	s := &session{r: r, file: f, viewer: viewer, cancel: cancel, done: make(chan struct{}),
		rx: rtpframe.Follow(viewer, f.UserID, !f.Sub, videoOf(f))}
	s.touch()
	r.sessions[key] = s
	r.wg.Add(1)
	go func() { defer r.wg.Done(); s.run(ctx) }()
	r.log.Info("recording", "file", f.ID, "record_id", f.RecordID, "room", f.RoomKey, "user", f.UserID, "stream", f.StreamID, "format", f.Format)
	return nil
}

// endLocked finishes the recording session key, if any, in the
// background: the publisher came back under another recordId, so that
// file is complete (finalised, its callback sent), and a session left
// running beside the new one would follow every later republish, writing
// a second file for ever. r.mu is held.
func (r *Recorder) endLocked(key string) {
	s := r.sessions[key]
	if s == nil {
		return
	}
	delete(r.sessions, key)
	r.wg.Add(1)
	go func() { defer r.wg.Done(); r.finish(s) }()
}

// sessionKey names a recording session: a member's main stream or its
// sub-stream.
func sessionKey(roomKey, userID string, video sfu.Source) string {
	key := roomKey + "\x00" + userID
	if video == sfu.SourceSub {
		key += "\x00aux"
	}
	return key
}

// streamID is a recorded stream's id as TRTC writes it:
// {sdkAppId}_{room}_{user}_main for the camera and microphone, _aux for
// the sub-stream.
func streamID(app uint32, room, user string, video sfu.Source) string {
	return fmt.Sprintf("%d_%s_%s_%s", app, room, user, streamType(video))
}

// streamType is TRTC's name of a stream in stream ids and file names.
func streamType(video sfu.Source) string {
	if video == sfu.SourceSub {
		return "aux"
	}
	return "main"
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
	return r.sessions[sessionKey(roomKey, userID, sfu.SourceMain)] != nil
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
// It also starts, every FinalizeRetry, a try of the recordings the disk
// refused to finalise, in the background.
func (r *Recorder) watch() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastRetry := time.Now()
	for {
		select {
		case <-r.ctx.Done():
			return
		case now := <-tick.C:
			if now.Sub(lastRetry) >= r.cfg.FinalizeRetry && r.startRetry() {
				lastRetry = now
			}
			r.mu.Lock()
			var ended []*session
			for key, s := range r.sessions {
				if s.idleFor(now) > r.cfg.ResumeWindow {
					ended = append(ended, s)
					delete(r.sessions, key)
				}
			}
			r.mu.Unlock()
			for _, s := range append(ended, r.shortOfSpace()...) {
				r.finishAside(s)
			}
		}
	}
}

// finish stops a session and makes its final file.
func (r *Recorder) finish(s *session) {
	if f := r.stopSession(s); f != nil {
		r.finalize(f)
	}
}

// finishAside stops a session at once (short of disk, it must write no
// more) and makes its final file on a goroutine of its own, at most
// maxFinalizing at a time. The watch goes on ending idle sessions and
// checking the disk meanwhile: a class that ends ends all its recordings
// at once, and each final file rewrites its partial one, seconds for an
// hour of video.
func (r *Recorder) finishAside(s *session) {
	f := r.stopSession(s)
	if f == nil {
		return
	}
	r.wg.Add(1) // watch holds the group's count: Close's Wait has not returned
	go func() {
		defer r.wg.Done()
		r.finalizing <- struct{}{}
		defer func() { <-r.finalizing }()
		r.finalize(f)
	}()
}

// maxFinalizing: final files are written two at a time, so that one long
// recording does not hold back the next, and a disk is not asked for many
// at once.
const maxFinalizing = 2

// stopSession ends a session's recording and closes its partial file; it
// returns the file to finalise, or nil when nothing was recorded (its
// entry is dropped).
func (r *Recorder) stopSession(s *session) *File {
	s.cancel()
	s.viewer.Close()
	<-s.done
	f := s.file
	if !s.started {
		r.log.Info("nothing was recorded", "file", f.ID, "user", f.UserID)
		r.cfg.Store.Delete(f.ID)
		return nil
	}
	if err := s.closeOut(); err != nil {
		r.log.Error("closing a recording", "file", f.ID, "err", err)
	}
	f.End = time.Now()
	return f
}

// Modes of what the recorder creates: recordings are readable by the
// server's group (a backup or a web server), by no one else.
const (
	recordingFileMode = 0o640
	recordingDirMode  = 0o750
)

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

// videoOf is the video source a recording follows (0: none).
func videoOf(f *File) sfu.Source {
	switch {
	case f.AudioOnly:
		return 0
	case f.Sub:
		return sfu.SourceSub
	}
	return sfu.SourceMain
}
