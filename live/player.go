package live

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/trtcd/trtcd/codec"
	"github.com/trtcd/trtcd/internal/pace"
	"github.com/trtcd/trtcd/internal/panics"
	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/rtpframe"
	"github.com/trtcd/trtcd/sfu"
)

// PlayConfig tunes a player.
type PlayConfig struct {
	Logger *slog.Logger
	// NewAudioEncoder makes the Opus→AAC encoder (nil: AAC-LC 48 kHz
	// stereo at 64 kbps).
	NewAudioEncoder func() (AudioEncoder, error)
	// NoAudio and NoVideo leave a kind out (the viewer may not receive it).
	NoAudio, NoVideo bool
	// Video is the publisher's video source played: the main stream (0)
	// or the sub-stream (a `_aux` stream id).
	Video sfu.Source
}

// The AAC players get. 48 kHz, Opus's own rate, saves a resampler that
// would cost a third more CPU per player; FLV players take the rate from
// the AudioSpecificConfig, not from the tag header's legacy 44 kHz flag.
const (
	aacRate     = 48000
	aacChannels = 2
	aacBitrate  = 64000
)

func newOpusToAAC() (AudioEncoder, error) {
	return codec.NewOpusToAAC(aacChannels, aacRate, aacBitrate)
}

// Play sends a publisher's H.264 and Opus, as FLV tags with H.264 and AAC,
// to w until ctx ends or w fails. viewer is the player's room session
// (sfu.Join); it follows the publisher across republishes.
//
// A bug that the publisher's media reaches ends this player only: the
// panic is counted and logged, and Play returns an error.
func Play(ctx context.Context, viewer *sfu.Session, publisher string, w TagWriter, cfg PlayConfig) error {
	return newPlayer(viewer, publisher, w, cfg).run(ctx)
}

// newPlayer follows the publisher; frames flow once its receiver runs.
func newPlayer(viewer *sfu.Session, publisher string, w TagWriter, cfg PlayConfig) *player {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NewAudioEncoder == nil {
		cfg.NewAudioEncoder = newOpusToAAC
	}
	p := &player{w: w, cfg: cfg}
	video := cmp.Or(cfg.Video, sfu.SourceMain)
	if cfg.NoVideo {
		video = 0
	}
	p.rx = rtpframe.Follow(viewer, publisher, !cfg.NoAudio, video)
	return p
}

// run plays until ctx ends, the viewer leaves or a tag cannot be written.
func (p *player) run(ctx context.Context) (err error) {
	defer recovered(panics.Player, p.cfg.Logger, &err) // deferred first, runs last: covers close too
	defer p.close()
	return p.rx.Run(ctx, p.frame)
}

// player turns one publisher's frames into FLV tags.
type player struct {
	w   TagWriter
	cfg PlayConfig
	rx  *rtpframe.Receiver

	sentConfig []byte // the AVC record last sent
	videoClock streamClock

	aac        AudioEncoder
	aacSent    bool
	audioBase  time.Duration // the audio source's first frame time
	audioClock streamClock
	// audioPace drops Opus frames past pace.AudioFrames a second before
	// they are decoded and encoded to AAC, as the ingest and the recorder
	// do: a publisher flooding tiny packets would otherwise cost every
	// FLV player a core.
	audioPace pace.Frames
}

func (p *player) frame(f *rtpframe.Frame) error {
	if f.Kind == sfu.KindVideo {
		return p.video(f)
	}
	return p.audio(f)
}

func (p *player) video(f *rtpframe.Frame) error {
	ms := f.Time.Milliseconds()
	if f.Keyframe {
		if err := p.sendAVCConfig(ms); err != nil {
			return err
		}
	}
	if p.sentConfig == nil {
		return nil // no SPS/PPS yet: wait for a keyframe that has them
	}
	frame := flv.FrameInter
	if f.Keyframe {
		frame = flv.FrameKey
	}
	body := flv.AppendVideoTag(make([]byte, 0, 5+len(f.Data)), flv.VideoTag{FrameType: frame, AVCPacketType: flv.AVCNALU, Data: f.Data})
	return p.w.WriteTag(flv.Tag{Type: flv.TagVideo, Timestamp: p.videoClock.tagTime(ms), Data: body})
}

// sendAVCConfig sends the sequence header when the parameter sets are new.
func (p *player) sendAVCConfig(ms int64) error {
	if len(p.rx.SPS()) == 0 || len(p.rx.PPS()) == 0 {
		return nil
	}
	record, err := flv.BuildAVCConfig(p.rx.SPS(), p.rx.PPS())
	if err != nil || string(record) == string(p.sentConfig) {
		return nil
	}
	p.sentConfig = record
	body := flv.AppendVideoTag(nil, flv.VideoTag{FrameType: flv.FrameKey, AVCPacketType: flv.AVCSequenceHeader, Data: record})
	return p.w.WriteTag(flv.Tag{Type: flv.TagVideo, Timestamp: uint32(max(ms, 0)), Data: body})
}

func (p *player) audio(f *rtpframe.Frame) error {
	if p.aac == nil || f.Restarted {
		if err := p.resetAudio(f.Time); err != nil {
			return err
		}
	}
	if !p.aacSent {
		p.aacSent = true
		body := flv.AppendAudioTag(nil, flv.AACSequenceHeader, p.aac.AudioSpecificConfig())
		if err := p.w.WriteTag(flv.Tag{Type: flv.TagAudio, Timestamp: uint32(max(f.Time.Milliseconds(), 0)), Data: body}); err != nil {
			return err
		}
	}
	if !p.audioPace.AllowN(time.Now(), pace.AudioFrames, pace.AudioCost(codec.OpusDuration(f.Data))) {
		if p.audioPace.Dropped == 1 {
			p.cfg.Logger.Warn("publisher sends more audio frames than a stream carries: the player drops the rest", "audio_fps", pace.AudioFrames)
		}
		return nil
	}
	var werr error
	err := p.aac.Push(f.Data, f.RTPTime, func(aac []byte, ptsMs uint32) {
		if werr == nil {
			body := flv.AppendAudioTag(make([]byte, 0, 2+len(aac)), flv.AACRaw, aac)
			at := p.audioClock.tagTime(p.audioBase.Milliseconds() + int64(ptsMs))
			werr = p.w.WriteTag(flv.Tag{Type: flv.TagAudio, Timestamp: at, Data: body})
		}
	})
	if err != nil {
		p.cfg.Logger.Debug("opus packet skipped", "err", err)
	}
	return werr
}

// resetAudio starts a new encoder for a new source, whose timestamps start
// over at base.
func (p *player) resetAudio(base time.Duration) error {
	if p.aac != nil {
		p.aac.Close()
	}
	var err error
	if p.aac, err = p.cfg.NewAudioEncoder(); err != nil {
		p.aac = nil
		return fmt.Errorf("live: Opus to AAC: %w", err)
	}
	p.audioBase = base
	return nil
}

func (p *player) close() {
	if p.aac != nil {
		p.aac.Close()
	}
}
