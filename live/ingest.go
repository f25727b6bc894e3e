package live

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
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

// Codecs of the tracks an RTMP pusher publishes: what browsers and pion
// negotiate by default, so WebRTC viewers get them untouched.
var (
	H264Codec = sfu.Codec{MimeType: sfu.MimeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	OpusCodec = sfu.Codec{MimeType: sfu.MimeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}
)

// Payload types written by the ingest; each viewer's DownTrack maps them to
// what it negotiated.
const (
	h264PayloadType = 102
	opusPayloadType = 111
)

// opusBitrate for transcoded AAC: what WebRTC clients send for speech and
// music at the TRTC defaults.
const opusBitrate = 48000

// ErrBFrames refuses video whose pictures are reordered: WebRTC decoders
// play frames in arrival order, so B-frames would show as judder and
// artefacts. Publishers must use the baseline profile (or -bf 0), as
// live-pusher does.
var ErrBFrames = errors.New("live: the H.264 stream has B-frames (reordered pictures), which WebRTC cannot play; publish baseline profile or disable B-frames")

// IngestConfig is what an ingest publishes.
type IngestConfig struct {
	ID         string // names the tracks ("user/video")
	AudioOnly  bool   // pureAudioPushMod: video tags are dropped
	Logger     *slog.Logger
	OnBFrames  func() // counted by the caller's metrics
	Transcoder func(asc []byte) (AudioTranscoder, error)
}

func newAACToOpus(asc []byte) (AudioTranscoder, error) { return codec.NewAACToOpus(asc, opusBitrate) }

// Ingest is an RTMP publisher's stream becoming room tracks: it takes FLV
// tags (rtmp.Publisher) and writes RTP to the session's tracks.
type Ingest struct {
	sess *sfu.Session
	cfg  IngestConfig
	log  *slog.Logger
	tl   timeline

	out        *sfu.Writer  // a video frame's packets leave in one system call
	sendVideo  func([]byte) // out.Write to video, made once
	video      *sfu.Track   // published with its first packet
	videoRTP   rtpframe.Packetizer
	videoClock streamClock
	avc        flv.AVCConfig
	sps, pps   []byte
	nalus      [][]byte

	audio      *sfu.Track
	audioRTP   rtpframe.Packetizer
	audioClock streamClock
	aac        AudioTranscoder
	asc        []byte // the AudioSpecificConfig aac was built for
	audioErrs  int

	started time.Time
	srAt    time.Time // when the last sender reports were set

	// Frames past these paces are dropped before anything is done with
	// them: each one is packetised for every viewer (and audio decoded and
	// encoded), whatever its size.
	videoPace pace.Pictures
	audioPace pace.Frames
	// ascPace counts AAC sequence headers that change the config: each
	// builds a new AAC decoder, resampler and Opus encoder.
	ascPace pace.Frames
}

// aacConfigChanges is how many AAC sequence headers a second may change the
// config (and a second's worth at once). An encoder sends a new one when it
// restarts or is reconfigured, a few times in a stream's life; a header
// repeating the config (some pushers send one every keyframe) changes
// nothing and is not counted.
const aacConfigChanges = 4

// ErrAACConfigFlood ends a push whose AAC sequence headers change the
// config more than aacConfigChanges times a second. No encoder does that;
// each one costs a new decoder and encoder, and frames between them decode
// with whichever config came last, so dropping the excess would only
// play garbage: the publisher is told to stop instead.
var ErrAACConfigFlood = fmt.Errorf("live: the AAC sequence header changed more than %d times a second", aacConfigChanges)

// NewIngest publishes into sess (a session from sfu.Join) whatever the
// tags carry. The tracks are created on the first sequence headers.
func NewIngest(sess *sfu.Session, cfg IngestConfig) *Ingest {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Transcoder == nil {
		cfg.Transcoder = newAACToOpus
	}
	in := &Ingest{sess: sess, cfg: cfg, log: cfg.Logger, started: time.Now(), out: sess.NewWriter()}
	in.sendVideo = func(b []byte) { in.out.Write(in.video, b) }
	in.videoRTP = rtpframe.Packetizer{PayloadType: h264PayloadType, SSRC: randomSSRC()}
	in.audioRTP = rtpframe.Packetizer{PayloadType: opusPayloadType, SSRC: randomSSRC()}
	return in
}

func randomSSRC() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

// WriteTag implements rtmp.Publisher. A bug that a tag reaches ends this
// push only: the panic is counted and logged, and the error makes the RTMP
// server close the connection.
func (in *Ingest) WriteTag(t flv.Tag) (err error) {
	defer recovered(panics.Ingest, in.log, &err)
	switch t.Type {
	case flv.TagVideo:
		if in.cfg.AudioOnly {
			return nil
		}
		return in.writeVideo(t)
	case flv.TagAudio:
		return in.writeAudio(t)
	}
	return nil // script data (onMetaData) carries nothing the room needs
}

// Close implements rtmp.Publisher: the tracks end and viewers see the
// stream go; the session is closed by whoever made it.
func (in *Ingest) Close() {
	if in.video != nil {
		in.sess.Unpublish(in.video)
	}
	if in.audio != nil {
		in.sess.Unpublish(in.audio)
	}
	if in.aac != nil {
		in.aac.Close()
	}
}

func (in *Ingest) writeVideo(t flv.Tag) error {
	v, err := flv.ParseVideoTag(t.Data)
	if err != nil {
		if errors.Is(err, flv.ErrUnsupportedCodec) {
			return fmt.Errorf("live: %w (only H.264 video is accepted)", err)
		}
		return fmt.Errorf("live: video tag: %w", err)
	}
	switch {
	case v.FrameType == flv.FrameCommand || v.AVCPacketType == flv.AVCEndOfSequence:
		return nil
	case v.AVCPacketType == flv.AVCSequenceHeader:
		return in.setAVCConfig(v.Data)
	case v.CompositionTime != 0:
		if in.cfg.OnBFrames != nil {
			in.cfg.OnBFrames()
		}
		return ErrBFrames
	case in.sps == nil:
		return nil // pictures before the sequence header cannot be decoded
	case !in.paced(in.videoPace.Allow(time.Now(), pace.VideoFrames, v.FrameType == flv.FrameKey), in.videoPace.Dropped, "video"):
		return nil
	}
	nalus, err := flv.SplitAVCC(v.Data, in.avc.NALULengthSize)
	if err != nil {
		return nil // one broken picture: viewers recover at the next keyframe
	}
	in.nalus = in.nalus[:0]
	for _, n := range nalus {
		if !rtpframe.PlainNAL(n) {
			continue // not H.264: a receiver would misread it as an RTP aggregate or fragment
		}
		switch rtpframe.NALType(n) {
		case rtpframe.NALSPS, rtpframe.NALPPS, rtpframe.NALAUD: // sent ahead of each IDR from the config
		case rtpframe.NALIDR:
			if len(in.nalus) == 0 || rtpframe.NALType(in.nalus[0]) != rtpframe.NALSPS {
				in.nalus = append(in.nalus, in.sps, in.pps)
			}
			in.nalus = append(in.nalus, n)
		default:
			in.nalus = append(in.nalus, n)
		}
	}
	if len(in.nalus) == 0 {
		return nil // nothing a decoder could use
	}
	ms := in.videoClock.next(in.tl.at(t.Timestamp))
	ts := uint32(ms * 90)
	if in.video == nil {
		if in.video, err = in.sess.PublishTrack(in.cfg.ID+"/video", sfu.SourceMain, H264Codec, nil); err != nil {
			return err
		}
	}
	for i, n := range in.nalus {
		in.videoRTP.PacketizeNALU(n, ts, i == len(in.nalus)-1, in.sendVideo)
	}
	in.out.Flush()
	in.senderReports(ms)
	return nil
}

func (in *Ingest) setAVCConfig(record []byte) error {
	c, err := flv.ParseAVCConfig(record) // it has an SPS and a PPS, or fails
	if err != nil {
		return fmt.Errorf("live: AVC sequence header: %w", err)
	}
	in.avc = c
	in.sps = append(in.sps[:0], c.SPS[0]...)
	in.pps = append(in.pps[:0], c.PPS[0]...)
	return nil
}

func (in *Ingest) writeAudio(t flv.Tag) error {
	a, err := flv.ParseAudioTag(t.Data)
	if err != nil {
		return fmt.Errorf("live: audio tag: %w (only AAC audio is accepted)", err)
	}
	if a.AACPacketType == flv.AACSequenceHeader {
		return in.setAAC(a.Data)
	}
	if in.aac == nil || !in.paced(in.audioPace.Allow(time.Now(), pace.AudioFrames), in.audioPace.Dropped, "audio") {
		return nil
	}
	ms := in.audioClock.next(in.tl.at(t.Timestamp))
	err = in.aac.Push(a.Data, uint32(ms), in.sendOpus)
	if err != nil {
		// A bad frame is replaced by silence; say so once in a while.
		if in.audioErrs++; in.audioErrs%100 == 1 {
			in.log.Warn("AAC frame did not decode", "stream", in.cfg.ID, "err", err, "count", in.audioErrs)
		}
	}
	return nil
}

// paced passes on whether a frame is within its pace; the first one
// dropped is logged.
func (in *Ingest) paced(kept bool, dropped int, kind string) bool {
	if !kept && dropped == 1 {
		in.log.Warn("push sends more frames than a stream carries: the rest are dropped", "stream", in.cfg.ID, "kind", kind,
			"video_fps", pace.VideoFrames, "audio_fps", pace.AudioFrames)
	}
	return kept
}

func (in *Ingest) setAAC(asc []byte) error {
	if in.aac != nil && string(asc) == string(in.asc) {
		return nil // the same config again: the pipeline carries on
	}
	if !in.ascPace.Allow(time.Now(), aacConfigChanges) {
		in.log.Warn("push ended: its AAC sequence header keeps changing", "stream", in.cfg.ID, "per_second", aacConfigChanges)
		return ErrAACConfigFlood
	}
	if in.aac != nil {
		in.aac.Close()
	}
	in.asc = append(in.asc[:0], asc...)
	var err error
	if in.aac, err = in.cfg.Transcoder(asc); err != nil {
		in.aac = nil
		in.log.Warn("push refused: its AAC cannot be transcoded (publish AAC-LC or HE-AAC)", "stream", in.cfg.ID, "asc", fmt.Sprintf("%x", asc), "err", err)
		return fmt.Errorf("live: AAC to Opus: %w", err)
	}
	return nil
}

// sendOpus writes one Opus frame. The track is published with its first
// packet, as a WebRTC publisher's is: a viewer that comes earlier waits for
// it instead of attaching to a track that has sent nothing.
func (in *Ingest) sendOpus(opus []byte, ts48k uint32) {
	if in.audio == nil {
		var err error
		if in.audio, err = in.sess.PublishTrack(in.cfg.ID+"/audio", sfu.SourceAudio, OpusCodec, nil); err != nil {
			return // the session ended; the next WriteTag says so
		}
	}
	in.audio.Write(in.audioRTP.Packet(ts48k, false, opus))
}

// senderReports gives the tracks an RTCP sender report mapping: browsers
// need one per stream to line up audio and video. Both streams share the
// repaired timeline, so time ms of either maps to the same wall clock.
func (in *Ingest) senderReports(ms int64) {
	now := time.Now()
	if now.Sub(in.srAt) < time.Second {
		return
	}
	in.srAt = now
	wall := in.started.Add(time.Duration(ms) * time.Millisecond)
	ntp := toNTP(wall)
	in.video.SetSenderReport(in.videoRTP.SSRC, ntp, uint32(ms*90))
	if in.audio != nil {
		in.audio.SetSenderReport(in.audioRTP.SSRC, ntp, uint32(ms*48))
	}
}

// toNTP is RFC 3550's 64-bit NTP timestamp of t.
func toNTP(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}
