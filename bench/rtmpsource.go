package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/trtcd/trtcd/codec"
	"github.com/trtcd/trtcd/internal/peer"
	"github.com/trtcd/trtcd/rtmp/flv"
)

// The RTMP pusher's media: what live-pusher sends, H.264 baseline + AAC-LC.
// The H.264 is synthetic (the server repacketizes NAL units, it does not
// decode them), with the send time stamped after each picture's NAL header
// as peer.Source does, so a WebRTC viewer measures latency from the
// video. The AAC must be real, since the server transcodes it to Opus; the
// stamp does not survive that, so RTMP rooms measure latency on video only.

// The SPS and PPS of peer.Source's stream: baseline profile, level 3.1.
var (
	rtmpSPS = []byte{0x67, 0x42, 0xe0, 0x1f, 0xda}
	rtmpPPS = []byte{0x68, 0xce, 0x3c, 0x80}
)

const (
	aacRate     = 44100
	aacChannels = 2
	// aacLoopFrames of a tone whose period divides the loop, so the
	// looped audio has no click: 43 frames ≈ 1 s.
	aacLoopFrames = 43
	// keyframeWeight: a keyframe is as large as this many delta frames,
	// as in peer.Source.
	keyframeWeight = 5
)

var aacLoop struct {
	once   sync.Once
	asc    []byte
	frames [][]byte
	err    error
}

// aacTone encodes about a second of a 441 Hz tone once per process; every
// pusher loops the same frames.
func aacTone() ([]byte, [][]byte, error) {
	aacLoop.once.Do(func() {
		enc, err := codec.NewAACEncoder(aacRate, aacChannels, 64000)
		if err != nil {
			aacLoop.err = fmt.Errorf("RTMP rooms need the AAC encoder (a cgo build of trtcd): %w", err)
			return
		}
		defer enc.Close()
		n := enc.FrameSamples()
		loop := aacLoopFrames * n
		freq := math.Round(441*float64(loop)/aacRate) * aacRate / float64(loop)
		pcm := make([]int16, n*aacChannels)
		out := make([]byte, 768*aacChannels)
		const primed = 2 // the encoder's first frames are its start-up delay
		for f := range aacLoopFrames + primed {
			for i := range n {
				s := int16(8000 * math.Sin(2*math.Pi*freq*float64((f*n+i)%loop)/aacRate))
				pcm[2*i], pcm[2*i+1] = s, s
			}
			size, err := enc.Encode(pcm, out)
			if err != nil {
				aacLoop.err = err
				return
			}
			if f >= primed && size > 0 {
				aacLoop.frames = append(aacLoop.frames, append([]byte(nil), out[:size]...))
			}
		}
		aacLoop.asc = append([]byte(nil), enc.AudioSpecificConfig()...)
	})
	return aacLoop.asc, aacLoop.frames, aacLoop.err
}

// rtmpSource pushes synthetic H.264 and looped AAC in real time.
type rtmpSource struct {
	push        *rtmpPusher
	bitrateKbps int
	fps         int
	gop         int // frames from one IDR to the next
	// started is closed once the first picture and audio frame are out.
	started chan struct{}
}

// stampAt is where the stamp goes in a video tag body: after the 5-byte
// AVC tag header, the 4-byte NAL length and the NAL header.
const stampAt = 5 + 4 + 1

// pictureTag builds a video tag body of one NAL unit of size bytes.
func pictureTag(idr bool, size int) []byte {
	nal := make([]byte, max(size, stampAt+16))
	nal[0] = 0x41 // non-IDR slice
	frame := flv.FrameInter
	if idr {
		nal[0], frame = 0x65, flv.FrameKey
	}
	for i := 1; i < len(nal); i++ {
		nal[i] = byte(rand.Uint32()) | 1 // never a zero byte, as in testpeer
	}
	avcc, _ := flv.AppendAVCC(nil, 4, nal)
	return flv.AppendVideoTag(nil, flv.VideoTag{FrameType: frame, AVCPacketType: flv.AVCNALU, Data: avcc})
}

// Run sends the sequence headers, then media until ctx ends or the push
// fails.
func (s *rtmpSource) Run(ctx context.Context) error {
	asc, frames, err := aacTone()
	if err != nil {
		return err
	}
	record, err := flv.BuildAVCConfig(rtmpSPS, rtmpPPS)
	if err != nil {
		return err
	}
	perGOP := s.bitrateKbps * 1000 / 8 * s.gop / s.fps
	delta := perGOP / (s.gop - 1 + keyframeWeight)
	// Built once and restamped per frame: random bytes per frame would
	// cost the generator CPU the server does not care about.
	keyTag, deltaTag := pictureTag(true, keyframeWeight*delta), pictureTag(false, delta)
	if err := s.push.WriteTag(rtmpVideo, 0, flv.AppendVideoTag(nil, flv.VideoTag{FrameType: flv.FrameKey,
		AVCPacketType: flv.AVCSequenceHeader, Data: record})); err != nil {
		return err
	}
	if err := s.push.WriteTag(rtmpAudio, 0, flv.AppendAudioTag(nil, flv.AACSequenceHeader, asc)); err != nil {
		return err
	}
	frameEvery := time.Second / time.Duration(s.fps)
	aacEvery := time.Duration(1024) * time.Second / aacRate
	video, audio := time.NewTicker(frameEvery), time.NewTicker(aacEvery)
	defer video.Stop()
	defer audio.Stop()
	// Timestamps count frames, not the clock, as an encoder's do.
	var audioTag []byte
	for v, a := 0, 0; ; {
		select {
		case <-ctx.Done():
			return nil
		case <-video.C:
			tag := deltaTag
			if v%s.gop == 0 {
				tag = keyTag
			}
			peer.Stamp(tag[stampAt:])
			ts := uint32(time.Duration(v) * frameEvery / time.Millisecond)
			if err := s.push.WriteTag(rtmpVideo, ts, tag); err != nil {
				return err
			}
			v++
		case <-audio.C:
			audioTag = flv.AppendAudioTag(audioTag[:0], flv.AACRaw, frames[a%len(frames)])
			ts := uint32(int64(a) * 1024 * 1000 / aacRate)
			if err := s.push.WriteTag(rtmpAudio, ts, audioTag); err != nil {
				return err
			}
			a++
		}
		if v == 1 && a >= 1 && s.started != nil {
			close(s.started)
			s.started = nil
		}
	}
}
