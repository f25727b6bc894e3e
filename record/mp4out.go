package record

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/trtcd/trtcd/codec"
	"github.com/trtcd/trtcd/record/mp4"
)

// mp4Out writes a session as fragmented MP4: H.264 as it arrives, and the
// Opus transcoded to AAC (plays everywhere) unless Opus is kept. An
// audio-only recording has no video track, a sub-stream's no audio track.
type mp4Out struct {
	f   *os.File
	w   *mp4.FragmentWriter
	aac *codec.OpusToAAC // nil when Opus is kept

	audioBase    time.Duration // recording time of the audio source's first packet
	audioStarted bool
	err          error
	emit         func([]byte, uint32)
}

// AAC in recordings: 48 kHz stereo, Opus's own rate, no resampling.
const (
	recordAACRate    = 48000
	recordAACBitrate = 64000
)

func newMP4Out(f *os.File, sps, pps []byte, video, audio, keepOpus bool, fragment time.Duration) (*mp4Out, error) {
	m := &mp4Out{f: f}
	var tracks []mp4.TrackInfo
	if video {
		tracks = append(tracks, mp4.H264Track(sps, pps))
	}
	switch {
	case !audio:
	case keepOpus:
		tracks = append(tracks, mp4.OpusTrack(2))
	default:
		if err := m.newAAC(); err != nil {
			return nil, err
		}
		tracks = append(tracks, mp4.AACTrack(m.aac.AudioSpecificConfig()))
	}
	w, err := mp4.NewFragmentWriterOptions(f, mp4.Options{FragmentDuration: fragment}, tracks...)
	if err != nil {
		m.closeAAC()
		return nil, fmt.Errorf("record: %w", err)
	}
	m.w = w
	m.emit = m.writeAAC
	return m, nil
}

func (m *mp4Out) newAAC() error {
	var err error
	if m.aac, err = codec.NewOpusToAAC(2, recordAACRate, recordAACBitrate); err != nil {
		return fmt.Errorf("record: AAC encoder: %w", err)
	}
	return nil
}

func (m *mp4Out) closeAAC() {
	if m.aac != nil {
		m.aac.Close()
	}
}

func (m *mp4Out) writeVideo(au []byte, t time.Duration, keyframe bool) error {
	return m.w.WriteVideo(au, t, keyframe)
}

// writeAudio transcodes (or keeps) one Opus packet. The transcoder keeps
// time across losses from the RTP timestamps; a new source (republish)
// starts it over at the packet's recording time.
func (m *mp4Out) writeAudio(opus []byte, rtpTime uint32, t time.Duration, restarted bool) error {
	if m.aac == nil {
		return m.w.WriteAudio(opus, t)
	}
	if restarted && m.audioStarted {
		m.aac.Flush(m.emit)
		m.closeAAC()
		if err := m.newAAC(); err != nil {
			return err
		}
	}
	if restarted || !m.audioStarted {
		m.audioBase, m.audioStarted = t, true
	}
	if err := m.aac.Push(opus, rtpTime, m.emit); err != nil {
		return nil // one bad packet: concealed
	}
	return m.err
}

func (m *mp4Out) writeAAC(frame []byte, ptsMs uint32) {
	if m.err != nil {
		return
	}
	err := m.w.WriteAudio(frame, m.audioBase+time.Duration(ptsMs)*time.Millisecond)
	if !errors.Is(err, mp4.ErrTimestampOrder) { // a frame out of order is dropped, the rest goes on
		m.err = err
	}
}

func (m *mp4Out) close() error {
	if m.aac != nil {
		m.aac.Flush(m.emit)
		m.closeAAC()
	}
	err := m.w.Close()
	if cerr := m.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mp4Finalizer rewrites a fragmented MP4 (cut by a crash or not) as a
// progressive MP4 with its moov first.
func mp4Finalizer(partial, final string) (time.Duration, int64, error) {
	info, err := mp4.Finalize(partial, final)
	if err != nil {
		return 0, 0, fmt.Errorf("record: finalise %s: %w", partial, err)
	}
	return info.Duration, info.Size, nil
}
