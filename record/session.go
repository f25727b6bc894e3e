package record

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/trtcd/trtcd/codec"
	"github.com/trtcd/trtcd/internal/pace"
	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/record/mp4"
	"github.com/trtcd/trtcd/rtpframe"
	"github.com/trtcd/trtcd/sfu"
)

// container is where a session's media goes: a fragmented MP4, or an MP3
// for audio-only recordings that want one.
type container interface {
	writeVideo(au []byte, t time.Duration, keyframe bool) error
	writeAudio(opus []byte, rtpTime uint32, t time.Duration, restarted bool) error
	// close ends the partial file (Recorder.finalize makes the final one).
	close() error
}

// session records one publisher from its first keyframe (or first audio,
// for audio-only recordings) until it has sent nothing for the resume
// window.
type session struct {
	r      *Recorder
	file   *File
	viewer *sfu.Session
	rx     *rtpframe.Receiver
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	lastSeen time.Time // the last frame, for the resume window

	out     container
	origin  time.Duration // receiver time of the recording's first frame
	started bool

	// Frames past these paces are dropped: the finaliser holds every
	// sample of a file in memory, so a flood of tiny frames would grow it
	// without bound, and again at the restart after the crash.
	videoPace pace.Pictures
	audioPace pace.Frames
}

func (s *session) run(ctx context.Context) {
	defer close(s.done)
	// The publisher's media reaches the writers here: a bug it triggers
	// stops this recording (what was written is finalised when the
	// session ends), not the process.
	defer panics.Recover(panics.Record, s.r.cfg.Logger)
	err := s.rx.Run(ctx, s.frame)
	if err != nil {
		s.r.log.Warn("recording stopped on an error", "file", s.file.ID, "err", err)
	}
}

func (s *session) touch() {
	s.mu.Lock()
	s.lastSeen = time.Now()
	s.mu.Unlock()
}

func (s *session) idleFor(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return now.Sub(s.lastSeen)
}

func (s *session) frame(f *rtpframe.Frame) error {
	s.touch()
	if !s.started {
		if f.Kind == sfu.KindVideo && !f.Keyframe || f.Kind == sfu.KindAudio && !s.file.AudioOnly {
			return nil // a video recording starts at its first keyframe
		}
		if err := s.open(); err != nil {
			return err
		}
		s.started, s.origin = true, f.Time
	}
	t := f.Time - s.origin
	if t < 0 || !s.paced(f) {
		return nil // audio captured before the first keyframe, or a frame over its pace
	}
	if f.Kind == sfu.KindVideo {
		err := s.out.writeVideo(f.Data, t, f.Keyframe)
		if errors.Is(err, mp4.ErrTimestampOrder) {
			return nil // a picture out of order is dropped; the recording goes on
		}
		return err
	}
	return s.out.writeAudio(f.Data, f.RTPTime, t, f.Restarted)
}

// paced reports whether a frame is within its kind's pace; the first one
// dropped is logged.
func (s *session) paced(f *rtpframe.Frame) bool {
	now := time.Now()
	if f.Kind == sfu.KindAudio {
		kept := s.audioPace.AllowN(now, pace.AudioFrames, pace.AudioCost(codec.OpusDuration(f.Data)))
		return s.logFirstDrop(kept, s.audioPace.Dropped, "audio")
	}
	return s.logFirstDrop(s.videoPace.Allow(now, pace.VideoFrames, f.Keyframe), s.videoPace.Dropped, "video")
}

func (s *session) logFirstDrop(kept bool, dropped int, kind string) bool {
	if !kept && dropped == 1 {
		s.r.log.Warn("recording drops frames over the pace a recording keeps", "file", s.file.ID, "kind", kind)
	}
	return kept
}

// open creates the partial file at the first frame (video needs the
// stream's SPS and PPS for its sample description). The index entry comes
// first, so that no crash leaves a partial file that no entry names.
func (s *session) open() error {
	s.r.mu.Lock() // recordingStart reads it
	s.file.Start = time.Now()
	s.r.mu.Unlock()
	if err := s.r.cfg.Store.Put(s.file); err != nil {
		return err
	}
	path := s.r.path(s.file.Partial)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, recordingFileMode)
	if err != nil {
		return fmt.Errorf("record: create %s: %w", path, err)
	}
	if s.file.Format == "mp3" {
		s.out, err = newMP3Out(f, s.r.cfg.FragmentDuration)
	} else {
		s.out, err = newMP4Out(f, s.rx.SPS(), s.rx.PPS(), !s.file.AudioOnly, !s.file.Sub, s.r.cfg.KeepOpus, s.r.cfg.FragmentDuration)
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return nil
}

// closeOut ends the partial file. A writer that a panic stopped midway may
// panic again here; that is recovered too, and the finalizer keeps what
// was written whole.
func (s *session) closeOut() (err error) {
	defer func() {
		if v := recover(); v != nil {
			panics.Report(panics.Record, v, s.r.cfg.Logger)
			err = fmt.Errorf("record: closing %s panicked: %v", s.file.Partial, v)
		}
	}()
	return s.out.close()
}

// mp3Out is an MP3 written as it comes: MP3 frames stand alone, so a file
// cut by a crash plays up to its last whole frame. It is synced every
// syncEvery of audio, as the MP4 writer syncs each fragment, so a power
// cut loses at most that much.
type mp3Out struct {
	f         syncedFile
	enc       *codec.OpusToMP3
	syncEvery time.Duration
	synced    time.Duration // the recording time of the last sync
	err       error
}

// syncedFile is where an mp3Out writes; an *os.File is one.
type syncedFile interface {
	Write([]byte) (int, error)
	Sync() error
	Close() error
}

func newMP3Out(f syncedFile, syncEvery time.Duration) (*mp3Out, error) {
	enc, err := codec.NewOpusToMP3(2, 48000, 128000)
	if err != nil {
		return nil, fmt.Errorf("record: MP3 encoder: %w", err)
	}
	return &mp3Out{f: f, enc: enc, syncEvery: syncEvery}, nil
}

func (m *mp3Out) writeVideo([]byte, time.Duration, bool) error { return nil }

func (m *mp3Out) writeAudio(opus []byte, rtpTime uint32, t time.Duration, _ bool) error {
	if err := m.enc.Push(opus, rtpTime, m.write); err != nil {
		return nil // one bad packet: concealed by the encoder's timeline
	}
	if m.err == nil && t-m.synced >= m.syncEvery {
		m.synced = t
		if err := m.f.Sync(); err != nil {
			m.err = fmt.Errorf("record: sync the MP3: %w", err)
		}
	}
	return m.err
}

func (m *mp3Out) write(b []byte) {
	if m.err == nil {
		_, m.err = m.f.Write(b)
	}
}

func (m *mp3Out) close() error {
	m.enc.Flush(m.write)
	m.enc.Close()
	if err := m.f.Sync(); err != nil && m.err == nil {
		m.err = err
	}
	if err := m.f.Close(); err != nil && m.err == nil {
		m.err = err
	}
	return m.err
}
