package rtpframe

import (
	"context"
	"time"

	"github.com/trtcd/trtcd/sfu"
)

// Frame is one timed unit of a publisher's media.
type Frame struct {
	Kind sfu.Kind
	// Data is an H.264 access unit (AVCC, 4-byte lengths) or an Opus
	// packet; it is valid during the handler's call only.
	Data []byte
	// Time is the frame's place on the receiver's clock, which starts when
	// the receiver does: each source is anchored at its first packet's
	// arrival, then follows its RTP timestamps.
	Time time.Duration
	// Keyframe: an access unit a decoder can start from.
	Keyframe bool
	// RTPTime is the source's RTP timestamp.
	RTPTime uint32
	// Restarted marks the first frame from a new source of this kind (the
	// publisher published again): decoder state and timestamps start over.
	Restarted bool
}

// Receiver follows a publisher's tracks through Taps and turns their RTP
// into Frames on its own goroutine (Run). Video starts at a keyframe and,
// after a loss, skips to the next one, asking the publisher for it.
type Receiver struct {
	viewer   *sfu.Session
	q        *packetQueue
	videoTap *sfu.Tap
	start    int64 // sfu.Monotonic() at creation
	dropped  uint64

	video, audio streamState
	depack       depacketizer
	waitKey      bool
	frame        Frame
}

// Follow starts receiving a publisher's audio (Opus) and/or the video
// (H.264) of one of its video sources (0: none) for viewer, a session in
// the publisher's room. Frames flow once Run is called; closing viewer
// ends them.
func Follow(viewer *sfu.Session, publisher string, audio bool, video sfu.Source) *Receiver {
	r := &Receiver{viewer: viewer, q: newPacketQueue(), start: sfu.Monotonic(), waitKey: true}
	if video != 0 {
		r.videoTap = viewer.Follow(publisher, video, queueSink{sfu.KindVideo, r.q},
			func(c sfu.Codec) bool { return c.MimeType == sfu.MimeH264 })
	}
	if audio {
		viewer.Follow(publisher, sfu.SourceAudio, queueSink{sfu.KindAudio, r.q},
			func(c sfu.Codec) bool { return c.MimeType == sfu.MimeOpus })
	}
	return r
}

// SPS and PPS are the latest H.264 parameter sets seen (nil before).
func (r *Receiver) SPS() []byte { return r.depack.sps }
func (r *Receiver) PPS() []byte { return r.depack.pps }

// Run hands frames to handle until ctx ends, the viewer's session closes,
// or handle fails (its error is returned).
func (r *Receiver) Run(ctx context.Context, handle func(*Frame) error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.viewer.Done():
			return nil
		case c := <-r.q.full:
			if err := r.take(c, handle); err != nil {
				return err
			}
		}
	}
}

// Drain hands the frames of the packets queued now to handle and returns
// without waiting for more. It is Run for a caller that writes the followed
// tracks on its own goroutine, so that a test or a fuzzer can drive a whole
// path (ingest, tracks, receiver, player or recorder) step by step.
func (r *Receiver) Drain(handle func(*Frame) error) error {
	for {
		select {
		case c := <-r.q.full:
			if err := r.take(c, handle); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// take handles one queued packet and gives its buffer back.
func (r *Receiver) take(c *rtpCopy, handle func(*Frame) error) error {
	err := r.packet(c, handle)
	r.q.free <- c
	return err
}

func (r *Receiver) packet(c *rtpCopy, handle func(*Frame) error) error {
	if d := r.q.dropped.Load(); d != r.dropped {
		r.dropped = d
		r.waitKey = true // the queue overflowed: pictures are missing
	}
	if c.kind == sfu.KindAudio {
		if c.n == 0 {
			return nil // no Opus packet: each has at least its TOC byte (RFC 6716 §3.1)
		}
		t, restarted, _ := r.audio.place(c, r.start, 48)
		r.audio.restartPending = false
		r.frame = Frame{Kind: sfu.KindAudio, Data: c.bytes(), Time: t, RTPTime: c.ts, Restarted: restarted}
		return handle(&r.frame)
	}
	t, restarted, lost := r.video.place(c, r.start, 90)
	if lost {
		r.waitKey = true
	}
	au, _, key, ok := r.depack.push(c.bytes(), c.ts, c.marker, lost || restarted)
	if !ok || (r.waitKey && !key) {
		if r.waitKey {
			r.askKeyframe()
		}
		return nil
	}
	r.waitKey = false
	r.frame = Frame{Kind: sfu.KindVideo, Data: au, Time: t, Keyframe: key, RTPTime: c.ts, Restarted: restarted}
	r.video.restartPending = false
	return handle(&r.frame)
}

// askKeyframe asks the publisher (throttled by the track) for a picture a
// decoder can start from.
func (r *Receiver) askKeyframe() {
	if r.videoTap == nil {
		return
	}
	if t := r.videoTap.Track(); t != nil {
		t.RequestKeyframe()
	}
}

// streamState places one track's RTP timestamps on the receiver's clock:
// each source (SSRC) is anchored at its first packet's arrival.
type streamState struct {
	started        bool
	ssrc           uint32
	lastSeq        uint16
	firstTS        uint32
	base           time.Duration
	restartPending bool // a video restart not yet reported with a frame
}

// place returns the packet's time, whether it is the first of a new source
// after an earlier one, and whether packets were lost before it.
func (s *streamState) place(c *rtpCopy, start int64, clockKHz int64) (t time.Duration, restarted, lost bool) {
	if !s.started || c.ssrc != s.ssrc {
		s.restartPending = s.restartPending || s.started
		s.started, s.ssrc, s.firstTS = true, c.ssrc, c.ts
		s.base = time.Duration(c.arrival - start)
		restarted = s.restartPending
	} else {
		lost = c.seq != s.lastSeq+1
		restarted = s.restartPending
	}
	s.lastSeq = c.seq
	ticks := int64(int32(c.ts - s.firstTS))
	return s.base + time.Duration(ticks*int64(time.Millisecond)/clockKHz), restarted, lost
}

// Dropped counts packets the receiver's queue had no room for: a handler
// that cannot keep up.
func (r *Receiver) Dropped() uint64 { return r.q.dropped.Load() }
