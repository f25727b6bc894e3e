package live

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/trtcd/trtcd/codec"
	"github.com/trtcd/trtcd/record/mp4"
	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/rtpframe"
	"github.com/trtcd/trtcd/sfu"
)

// The whole-path fuzz targets drive a publisher's media through everything
// that reads it on this server, on the fuzzing goroutine, step by step: the
// tracks' fan-out is synchronous and each receiver is drained after each
// message, so an iteration needs no socket, no sleep and no other goroutine.

// sharedMedia is one media plane per test process: each fuzz worker runs
// its iterations one after the other in rooms that empty after each.
var sharedMedia struct {
	once sync.Once
	sfu  *sfu.SFU
	err  error
}

func fuzzMedia(tb testing.TB) *sfu.SFU {
	sharedMedia.once.Do(func() {
		sharedMedia.sfu, sharedMedia.err = sfu.New(sfu.Config{
			Transport: sfu.TransportConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true}, Logger: quiet})
	})
	if sharedMedia.err != nil {
		tb.Fatal(sharedMedia.err)
	}
	return sharedMedia.sfu
}

// pathOptions choose how a stream is recorded, from the input's first byte.
type pathOptions struct {
	audioOnly bool // pureAudioPushMod: no video track, an audio-only recording
	keepOpus  bool // the recorder keeps Opus instead of transcoding to AAC
	// ingest: the stream comes from the RTMP ingest, whose RTP is
	// trtcd's own (single NAL units and FU-A, SPS and PPS with every
	// keyframe): its packets are checked, and a recording must be able to
	// start at its first keyframe.
	ingest bool
}

func optionsFrom(flags byte) pathOptions {
	return pathOptions{audioOnly: flags&1 != 0, keepOpus: flags&2 != 0}
}

// viewers are everyone who watches the publisher "pusher": a WebRTC
// subscriber's sink of raw RTP (for the ingest's RTP), an FLV player and a
// recorder.
type viewers struct {
	t           *testing.T
	sessions    []*sfu.Session
	rtp         *rtpChecker
	player      *player
	playerEnded bool
	flv         *flvChecker
	rec         *recording
}

func watch(t *testing.T, media *sfu.SFU, room string, opts pathOptions) *viewers {
	v := &viewers{t: t, rtp: &rtpChecker{}, flv: &flvChecker{t: t}}
	if opts.ingest {
		rtpViewer := v.join(media, room, "subscriber")
		rtpViewer.Follow("pusher", sfu.SourceMain, v.rtp, nil)
		rtpViewer.Follow("pusher", sfu.SourceAudio, v.rtp, nil)
	}
	v.player = newPlayer(v.join(media, room, "player"), "pusher", v.flv, PlayConfig{Logger: quiet})
	video := sfu.SourceMain
	if opts.audioOnly {
		video = 0
	}
	rx := rtpframe.Follow(v.join(media, room, "recorder"), "pusher", true, video)
	v.rec = &recording{t: t, rx: rx, opts: opts}
	return v
}

func (v *viewers) join(media *sfu.SFU, room, user string) *sfu.Session {
	s, err := media.Join(room, user)
	if err != nil {
		v.t.Fatal(err)
	}
	v.sessions = append(v.sessions, s)
	return s
}

// drain lets the recorder and the player take what their queues hold.
func (v *viewers) drain() {
	if err := v.rec.rx.Drain(v.rec.frame); err != nil {
		v.t.Fatalf("the recorder failed: %v", err)
	}
	if bad := v.rtp.bad; bad != "" {
		v.rtp.bad = "" // said once
		v.t.Fatal(bad)
	}
	if v.playerEnded {
		return
	}
	if err := v.player.rx.Drain(v.player.frame); err != nil {
		if !errors.Is(err, codec.ErrUnavailable) { // a build without cgo has no AAC for players
			v.t.Fatalf("the player failed: %v", err)
		}
		v.playerEnded = true
	}
}

// end finishes the recording and checks it, and leaves the room.
func (v *viewers) end() {
	v.drain()
	v.player.close()
	v.rec.finish()
	for _, s := range v.sessions {
		s.Close()
	}
}

// rtpChecker is a WebRTC subscriber's view: every packet the publisher's
// tracks send must be one a browser can depacketize. It runs inside the
// track's fan-out, where failing the test would leave the track's state
// half-updated: it notes the first bad packet for check.
type rtpChecker struct {
	bad          string
	video, audio int
}

func (c *rtpChecker) WriteRTP(p *sfu.Packet) {
	payload := p.Payload()
	switch {
	case c.bad != "":
	case len(p.Bytes()) > 1200 || len(payload) == 0:
		c.bad = fmt.Sprintf("a packet of %d bytes with %d of payload", len(p.Bytes()), len(payload))
	case p.PayloadType == opusPayloadType:
		c.audio++
	case rtpframe.PlainNAL(payload) || rtpframe.NALType(payload) == 28 && len(payload) > 2 && rtpframe.PlainNAL(payload[1:2]):
		c.video++
	default:
		c.bad = fmt.Sprintf("a video packet that is neither a NAL unit nor an FU-A of one: % x", payload[:min(len(payload), 8)])
	}
}

// flvChecker is an FLV player: every tag must parse, pictures come after
// their sequence header and carry H.264 NAL units, and time never goes
// back within a stream.
type flvChecker struct {
	t                      *testing.T
	avcHeader, aacHeader   bool
	pictures, audioFrames  int
	lastPicture, lastAudio uint32
	sentPicture, sentAudio bool
}

func (c *flvChecker) WriteTag(tag flv.Tag) error {
	switch tag.Type {
	case flv.TagVideo:
		c.videoTag(tag)
	case flv.TagAudio:
		c.audioTag(tag)
	default:
		c.t.Fatalf("a player got a tag of type %d", tag.Type)
	}
	return nil
}

func (c *flvChecker) videoTag(tag flv.Tag) {
	v, err := flv.ParseVideoTag(tag.Data)
	if err != nil {
		c.t.Fatalf("a player got a video tag it cannot parse: %v", err)
	}
	if v.AVCPacketType == flv.AVCSequenceHeader {
		if _, err := flv.ParseAVCConfig(v.Data); err != nil {
			c.t.Fatalf("a player got a bad sequence header: %v", err)
		}
		c.avcHeader = true
		return
	}
	nalus, err := flv.SplitAVCC(v.Data, 4)
	switch {
	case !c.avcHeader:
		c.t.Fatal("a player got a picture before its sequence header")
	case err != nil || len(nalus) == 0:
		c.t.Fatalf("a player got a picture of no NAL units (%v)", err)
	case c.sentPicture && tag.Timestamp <= c.lastPicture:
		c.t.Fatalf("picture time went from %d to %d ms", c.lastPicture, tag.Timestamp)
	}
	for _, n := range nalus {
		if !rtpframe.PlainNAL(n) {
			c.t.Fatalf("a player got NAL type %d", rtpframe.NALType(n))
		}
	}
	c.pictures++
	c.sentPicture, c.lastPicture = true, tag.Timestamp
}

func (c *flvChecker) audioTag(tag flv.Tag) {
	a, err := flv.ParseAudioTag(tag.Data)
	if err != nil {
		c.t.Fatalf("a player got an audio tag it cannot parse: %v", err)
	}
	if a.AACPacketType == flv.AACSequenceHeader {
		if _, err := flv.ParseAudioSpecificConfig(a.Data); err != nil {
			c.t.Fatalf("a player got a bad AudioSpecificConfig: %v", err)
		}
		c.aacHeader = true
		return
	}
	switch {
	case !c.aacHeader:
		c.t.Fatal("a player got AAC before its AudioSpecificConfig")
	case len(a.Data) == 0:
		c.t.Fatal("a player got an empty AAC frame")
	case c.sentAudio && tag.Timestamp <= c.lastAudio:
		c.t.Fatalf("audio time went from %d to %d ms", c.lastAudio, tag.Timestamp)
	}
	c.audioFrames++
	c.sentAudio, c.lastAudio = true, tag.Timestamp
}

// recording does with a receiver's frames what record's session and
// mp4Out do (record.Recorder runs them on a goroutine of its own that an
// iteration could not wait for): it starts at the first keyframe with the
// receiver's parameter sets (at the first audio when audio-only), writes
// the H.264 and the Opus (kept, or transcoded to AAC) into a fragmented
// MP4, and at the end finalises the file as the recorder does.
type recording struct {
	t    *testing.T
	rx   *rtpframe.Receiver
	opts pathOptions

	file         bytes.Buffer
	w            *mp4.FragmentWriter
	aac          *codec.OpusToAAC
	started      bool
	failed       bool // the recorder would have stopped here
	origin       time.Duration
	audioBase    time.Duration
	audioStarted bool
	video, audio int // samples written
}

func (r *recording) frame(f *rtpframe.Frame) error {
	if r.failed {
		return nil
	}
	if !r.started {
		if f.Kind == sfu.KindVideo && !f.Keyframe || f.Kind == sfu.KindAudio && !r.opts.audioOnly {
			return nil
		}
		if err := r.open(); err != nil {
			if r.opts.ingest {
				r.t.Fatalf("a stream that plays cannot be recorded: %v", err)
			}
			r.failed = true
			return nil
		}
		r.started, r.origin = true, f.Time
	}
	t := f.Time - r.origin
	if t < 0 {
		return nil
	}
	if f.Kind == sfu.KindVideo {
		r.count(&r.video, r.w.WriteVideo(f.Data, t, f.Keyframe))
		return nil
	}
	r.writeAudio(f, t)
	return nil
}

func (r *recording) open() error {
	var tracks []mp4.TrackInfo
	if !r.opts.audioOnly {
		tracks = append(tracks, mp4.H264Track(r.rx.SPS(), r.rx.PPS()))
	}
	var err error
	if !r.opts.keepOpus {
		r.aac, err = codec.NewOpusToAAC(2, 48000, 64000)
	}
	switch {
	case r.aac != nil:
		tracks = append(tracks, mp4.AACTrack(r.aac.AudioSpecificConfig()))
	case err == nil || errors.Is(err, codec.ErrUnavailable): // without cgo, Opus can only be kept
		tracks = append(tracks, mp4.OpusTrack(2))
	default:
		return err
	}
	r.w, err = mp4.NewFragmentWriterOptions(&r.file, mp4.Options{FragmentDuration: 200 * time.Millisecond, NoSync: true}, tracks...)
	if err != nil && r.aac != nil {
		r.aac.Close()
		r.aac = nil
	}
	return err
}

func (r *recording) writeAudio(f *rtpframe.Frame, t time.Duration) {
	if r.aac == nil {
		r.count(&r.audio, r.w.WriteAudio(f.Data, t))
		return
	}
	if f.Restarted && r.audioStarted {
		r.aac.Flush(r.writeAAC)
		r.aac.Close()
		var err error
		if r.aac, err = codec.NewOpusToAAC(2, 48000, 64000); err != nil {
			r.t.Fatal(err)
		}
	}
	if f.Restarted || !r.audioStarted {
		r.audioBase, r.audioStarted = t, true
	}
	r.aac.Push(f.Data, f.RTPTime, r.writeAAC) // a bad packet is concealed
}

func (r *recording) writeAAC(frame []byte, ptsMs uint32) {
	r.count(&r.audio, r.w.WriteAudio(frame, r.audioBase+time.Duration(ptsMs)*time.Millisecond))
}

// count counts a written sample; a sample out of order is dropped and the
// recording goes on, as in the recorder; any other error is a bug (the
// file is a bytes.Buffer).
func (r *recording) count(n *int, err error) {
	switch {
	case err == nil:
		*n++
	case !errors.Is(err, mp4.ErrTimestampOrder):
		r.t.Fatalf("the recording failed: %v", err)
	}
}

// finish closes the fragmented file and finalises it: every sample written
// must be in the final file, as the recorder's callback will say.
func (r *recording) finish() {
	if !r.started {
		return
	}
	if r.aac != nil {
		r.aac.Flush(r.writeAAC)
		r.aac.Close()
	}
	if err := r.w.Close(); err != nil {
		r.t.Fatal(err)
	}
	dir, err := os.MkdirTemp(scratch(), "recording")
	if err != nil {
		r.t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	partial, final := filepath.Join(dir, "partial.mp4"), filepath.Join(dir, "final.mp4")
	if err := os.WriteFile(partial, r.file.Bytes(), 0o600); err != nil {
		r.t.Fatal(err)
	}
	var info mp4.Info
	info, err = mp4.Finalize(partial, final)
	if r.video+r.audio == 0 {
		if err != nil && !errors.Is(err, mp4.ErrNoMedia) {
			r.t.Fatalf("an empty recording failed to finalise: %v", err)
		}
		return
	}
	if err != nil {
		r.t.Fatalf("a recording of %d video and %d audio samples failed to finalise: %v", r.video, r.audio, err)
	}
	if info.VideoSamples != r.video || info.AudioSamples != r.audio {
		r.t.Fatalf("the final file has %d video and %d audio samples, %d and %d were written",
			info.VideoSamples, info.AudioSamples, r.video, r.audio)
	}
}

// scratch is where recordings are finalised: tmpfs when there is one, since
// Finalize syncs the file and its directory, which on a disk costs more
// than the rest of an iteration.
func scratch() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}
