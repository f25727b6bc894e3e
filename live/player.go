package live

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/trtcd/trtcd/codec"
	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/sfu"
)

// TagWriter receives a player's FLV tags (rtmp.TagWriter, or an HTTP-FLV
// response). Tag data is not reused after the call.
type TagWriter interface {
	WriteTag(flv.Tag) error
}

// AudioEncoder turns Opus RTP payloads into AAC frames; codec.OpusToAAC is
// the real one.
type AudioEncoder interface {
	AudioSpecificConfig() []byte
	Push(opus []byte, rtpTimestamp uint32, emit func(aac []byte, ptsMs uint32)) error
	Close() error
}

// PlayConfig tunes a player.
type PlayConfig struct {
	Logger *slog.Logger
	// NewAudioEncoder makes the Opus→AAC encoder (nil: AAC-LC 48 kHz
	// stereo at 64 kbps).
	NewAudioEncoder func() (AudioEncoder, error)
	// NoAudio and NoVideo leave a kind out (the viewer may not receive it).
	NoAudio, NoVideo bool
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
// (sfu.Join); its tracks follow the publisher across republishes.
func Play(ctx context.Context, viewer *sfu.Session, publisher string, w TagWriter, cfg PlayConfig) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NewAudioEncoder == nil {
		cfg.NewAudioEncoder = newOpusToAAC
	}
	p := &player{w: w, cfg: cfg, start: time.Now(), q: newPacketQueue()}
	if !cfg.NoVideo {
		p.videoTap = viewer.Follow(publisher, sfu.KindVideo, queueSink{sfu.KindVideo, p.q},
			func(c sfu.Codec) bool { return c.MimeType == sfu.MimeH264 })
	}
	if !cfg.NoAudio {
		viewer.Follow(publisher, sfu.KindAudio, queueSink{sfu.KindAudio, p.q},
			func(c sfu.Codec) bool { return c.MimeType == sfu.MimeOpus })
	}
	defer p.close()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-viewer.Done():
			return nil
		case c := <-p.q.full:
			err := p.handle(c)
			p.q.free <- c
			if err != nil {
				return err
			}
		}
	}
}

// player converts one publisher's packets to FLV tags on its own goroutine.
type player struct {
	w        TagWriter
	cfg      PlayConfig
	start    time.Time
	q        *packetQueue
	videoTap *sfu.Tap
	dropped  uint64 // q.dropped already acted on

	video      streamState
	depack     depacketizer
	waitKey    bool
	sentConfig []byte // the AVC record last sent
	videoClock streamClock

	audio      streamState
	aac        AudioEncoder
	aacSent    bool
	audioClock streamClock
}

// streamState places one track's RTP timestamps on the player's timeline:
// the first packet (of each source SSRC) is anchored at its arrival.
type streamState struct {
	started bool
	ssrc    uint32
	lastSeq uint16
	firstTS uint32
	baseMs  int64
}

// place returns the packet's time in ms, whether the source changed
// (republish), and whether packets were lost before it.
func (s *streamState) place(c *rtpCopy, start time.Time, clockKHz int64) (ms int64, restarted, lost bool) {
	if !s.started || c.ssrc != s.ssrc {
		restarted = s.started
		s.started, s.ssrc, s.firstTS = true, c.ssrc, c.ts
		s.baseMs = time.Duration(c.arrival - monotonicAt(start)).Milliseconds()
	} else {
		lost = c.seq != s.lastSeq+1
	}
	s.lastSeq = c.seq
	return s.baseMs + int64(int32(c.ts-s.firstTS))/clockKHz, restarted, lost
}

func (p *player) handle(c *rtpCopy) error {
	if d := p.q.dropped.Load(); d != p.dropped {
		p.dropped = d
		p.waitKey = true // the queue overflowed: pictures are missing
	}
	if c.kind == sfu.KindVideo {
		return p.handleVideo(c)
	}
	return p.handleAudio(c)
}

func (p *player) handleVideo(c *rtpCopy) error {
	ms, restarted, lost := p.video.place(c, p.start, 90)
	if restarted || lost {
		p.waitKey = true
	}
	au, _, key, ok := p.depack.push(c.bytes(), c.ts, c.marker, lost || restarted)
	if !ok {
		if p.waitKey {
			p.askKeyframe()
		}
		return nil
	}
	if p.waitKey && !key {
		p.askKeyframe()
		return nil
	}
	if key {
		p.waitKey = false
		if err := p.sendAVCConfig(ms); err != nil {
			return err
		}
		if p.sentConfig == nil {
			return nil // no SPS/PPS yet: wait for a keyframe that has them
		}
	} else if p.sentConfig == nil {
		return nil
	}
	frame := flv.FrameInter
	if key {
		frame = flv.FrameKey
	}
	body := flv.AppendVideoTag(make([]byte, 0, 5+len(au)), flv.VideoTag{FrameType: frame, AVCPacketType: flv.AVCNALU, Data: au})
	return p.w.WriteTag(flv.Tag{Type: flv.TagVideo, Timestamp: uint32(p.videoClock.next(ms)), Data: body})
}

// askKeyframe asks the publisher (throttled by the track) for a picture a
// decoder can start from.
func (p *player) askKeyframe() {
	if t := p.videoTap.Track(); t != nil {
		t.RequestKeyframe()
	}
}

// sendAVCConfig sends the sequence header when the parameter sets are new.
func (p *player) sendAVCConfig(ms int64) error {
	if len(p.depack.sps) == 0 || len(p.depack.pps) == 0 {
		return nil
	}
	record, err := flv.BuildAVCConfig(p.depack.sps, p.depack.pps)
	if err != nil || string(record) == string(p.sentConfig) {
		return nil
	}
	p.sentConfig = record
	body := flv.AppendVideoTag(nil, flv.VideoTag{FrameType: flv.FrameKey, AVCPacketType: flv.AVCSequenceHeader, Data: record})
	return p.w.WriteTag(flv.Tag{Type: flv.TagVideo, Timestamp: uint32(max(ms, 0)), Data: body})
}

func (p *player) handleAudio(c *rtpCopy) error {
	ms, restarted, _ := p.audio.place(c, p.start, 48)
	if p.aac == nil || restarted {
		if err := p.resetAudio(); err != nil {
			return err
		}
	}
	if !p.aacSent {
		p.aacSent = true
		body := flv.AppendAudioTag(nil, flv.AACSequenceHeader, p.aac.AudioSpecificConfig())
		if err := p.w.WriteTag(flv.Tag{Type: flv.TagAudio, Timestamp: uint32(max(ms, 0)), Data: body}); err != nil {
			return err
		}
	}
	var werr error
	err := p.aac.Push(c.bytes(), c.ts, func(aac []byte, ptsMs uint32) {
		if werr == nil {
			body := flv.AppendAudioTag(make([]byte, 0, 2+len(aac)), flv.AACRaw, aac)
			at := p.audioClock.next(p.audio.baseMs + int64(ptsMs))
			werr = p.w.WriteTag(flv.Tag{Type: flv.TagAudio, Timestamp: uint32(max(at, 0)), Data: body})
		}
	})
	if err != nil {
		p.cfg.Logger.Debug("opus packet skipped", "err", err)
	}
	return werr
}

// resetAudio starts a new encoder for a new source: its timestamps start
// over.
func (p *player) resetAudio() error {
	if p.aac != nil {
		p.aac.Close()
	}
	var err error
	if p.aac, err = p.cfg.NewAudioEncoder(); err != nil {
		p.aac = nil
		return fmt.Errorf("live: Opus to AAC: %w", err)
	}
	return nil
}

func (p *player) close() {
	if p.aac != nil {
		p.aac.Close()
	}
}

// monotonicAt converts a wall-clock start into the sfu's packet arrival
// clock (nanoseconds since sfu's clock start).
func monotonicAt(t time.Time) int64 { return sfu.Monotonic() - int64(time.Since(t)) }
