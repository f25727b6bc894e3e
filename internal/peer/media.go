package peer

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Source is a synthetic camera and microphone: H.264 at a target bitrate
// with a keyframe every KeyframeEvery frames (several times larger than the
// delta frames, as real encoders make them), and Opus in 20 ms frames.
type Source struct {
	Video, Audio *webrtc.TrackLocalStaticSample
	BitrateKbps  int
	FPS          int
	// KeyframeEvery is the GOP length in frames.
	KeyframeEvery int
	// Fill, when not 0, is the byte the video frames are filled with
	// instead of random bytes, so a receiver can tell which of several
	// sources (a main, small and screen stream) a packet came from.
	Fill byte

	keyframeWanted atomic.Bool
}

// AnswerKeyframeRequests makes the source send a keyframe soon after a PLI
// or FIR arrives on sender, as a real encoder does. It returns when the
// sender closes.
func (s *Source) AnswerKeyframeRequests(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				s.keyframeWanted.Store(true)
			}
		}
	}
}

// The codecs a client sends: constrained baseline H.264 at level 3.1, as
// browsers offer it, and stereo Opus.
var (
	H264 = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	Opus = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
)

// NewSource makes the two tracks; add them to a PeerConnection and Run.
func NewSource(streamID string, bitrateKbps, fps int) (*Source, error) {
	v, err := webrtc.NewTrackLocalStaticSample(H264, "video", streamID)
	if err != nil {
		return nil, err
	}
	a, err := webrtc.NewTrackLocalStaticSample(Opus, "audio", streamID)
	if err != nil {
		return nil, err
	}
	return &Source{Video: v, Audio: a, BitrateKbps: bitrateKbps, FPS: fps, KeyframeEvery: 2 * fps}, nil
}

// keyframeWeight: a keyframe is as large as this many delta frames.
const keyframeWeight = 5

// frameSizes splits the bitrate over a GOP: one keyframe and the deltas.
func (s *Source) frameSizes() (key, delta int) {
	perGOP := s.BitrateKbps * 1000 / 8 * s.KeyframeEvery / s.FPS
	delta = perGOP / (s.KeyframeEvery - 1 + keyframeWeight)
	return keyframeWeight * delta, delta
}

// Run sends until ctx ends.
func (s *Source) Run(ctx context.Context) {
	go s.runAudio(ctx)
	key, delta := s.frameSizes()
	tick := time.NewTicker(time.Second / time.Duration(s.FPS))
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var frame []byte
		var picture []byte
		if i%s.KeyframeEvery == 0 || s.keyframeWanted.Swap(false) {
			picture = s.nal(0x65, key)
			frame = annexB([]byte{0x67, 0x42, 0xe0, 0x1f, 0xda}, []byte{0x68, 0xce, 0x3c, 0x80}, picture)
		} else {
			picture = s.nal(0x41, delta)
			frame = annexB(picture)
		}
		Stamp(frame[len(frame)-len(picture)+1:]) // after the NAL header
		s.Video.WriteSample(media.Sample{Data: frame, Duration: time.Second / time.Duration(s.FPS)})
	}
}

func (s *Source) runAudio(ctx context.Context) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	frame := make([]byte, 80) // 32 kbps Opus
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		frame[0] = 0x78 // a valid TOC byte: CELT FB 20 ms
		Stamp(frame[1:])
		s.Audio.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond})
	}
}

func (s *Source) nal(header byte, size int) []byte {
	b := make([]byte, size)
	b[0] = header
	for i := 1; i < size; i++ {
		b[i] = s.Fill
		if s.Fill == 0 {
			b[i] = byte(rand.Uint32()) | 1 // no start-code emulation
		}
	}
	return b
}

func annexB(nals ...[]byte) []byte {
	var out []byte
	for _, n := range nals {
		out = append(out, 0, 0, 0, 1)
		out = append(out, n...)
	}
	return out
}

// AddTo makes pc send the source's tracks and answer keyframe requests.
func (s *Source) AddTo(pc *webrtc.PeerConnection) error {
	return s.add(pc, s.Video, s.Audio)
}

// AddVideoTo makes pc send the source's video only, as a small stream or a
// screen share is sent beside a camera.
func (s *Source) AddVideoTo(pc *webrtc.PeerConnection) error {
	return s.add(pc, s.Video)
}

func (s *Source) add(pc *webrtc.PeerConnection, tracks ...webrtc.TrackLocal) error {
	for _, tr := range tracks {
		tx, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return err
		}
		go s.AnswerKeyframeRequests(tx.Sender())
	}
	return nil
}

// ReceiveAudioVideo makes pc ask for one video and one audio track.
func ReceiveAudioVideo(pc *webrtc.PeerConnection) error {
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return err
		}
	}
	return nil
}

// The send time rides in the media payload so a receiver on the same
// machine can measure end-to-end latency: a two-byte mark, then Unix
// nanoseconds in nine 7-bit groups with the top bit set, so no zero byte
// can form an H.264 start code.
var stampMark = [2]byte{0xAB, 0xCD}

const stampSize = 11

// Stamp writes the current time at the start of b (which must hold 11 bytes).
func Stamp(b []byte) {
	b[0], b[1] = stampMark[0], stampMark[1]
	ns := uint64(time.Now().UnixNano())
	for i := 10; i >= 2; i-- {
		b[i] = 0x80 | byte(ns&0x7f)
		ns >>= 7
	}
}

// Stamped finds a send time in an RTP payload: Opus frames carry it after
// the TOC byte; H.264 pictures after the NAL header, in a single NAL unit
// or the first FU-A fragment. ok is false for other packets.
func Stamped(payload []byte, video bool) (time.Time, bool) {
	at := 1
	if video && len(payload) > 1 && payload[0]&0x1f == 28 { // FU-A
		if payload[1]&0x80 == 0 {
			return time.Time{}, false
		}
		at = 2
	}
	if len(payload) < at+stampSize || payload[at] != stampMark[0] || payload[at+1] != stampMark[1] {
		return time.Time{}, false
	}
	var ns uint64
	for _, c := range payload[at+2 : at+stampSize] {
		ns = ns<<7 | uint64(c&0x7f)
	}
	return time.Unix(0, int64(ns)), true
}
