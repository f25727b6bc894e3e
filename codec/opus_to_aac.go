package codec

import "fmt"

// OpusToAAC transcodes a WebRTC Opus stream (RTP payloads with their RTP
// timestamps) to raw AAC-LC frames for RTMP/HTTP-FLV playback and MP4
// recording: Opus decode with gap filling, resample when the AAC rate is
// 44.1 kHz, re-frame to 1024 samples, AAC encode.
type OpusToAAC struct {
	opusInput[func(aac []byte, ptsMs uint32)] // decode, resample; emit during Push/Flush

	enc  *AACEncoder
	asc  []byte
	rate int

	frame []int16 // the 1024-sample frame being filled
	fill  int     // samples/channel in frame
	out   []byte

	basePts uint32 // ms of timeline sample 0, relative to the first packet
	pos     uint64 // output-rate samples already emitted on this timeline
}

// NewOpusToAAC creates a transcoder producing AAC-LC with channels (1 or 2) at
// sampleRate (48000 or 44100) and bitrate bit/s. Prefer 48000: AAC in FLV
// and MP4 is described by its AudioSpecificConfig, players handle 48 kHz,
// and 44100 adds a resampler costing about a third more CPU.
func NewOpusToAAC(channels, sampleRate, bitrate int) (*OpusToAAC, error) {
	if sampleRate != 48000 && sampleRate != 44100 {
		return nil, fmt.Errorf("%w: opus to AAC at %d Hz (48000 or 44100)", ErrInvalidArgument, sampleRate)
	}
	p := &OpusToAAC{rate: sampleRate}
	var err error
	if p.enc, err = NewAACEncoder(sampleRate, channels, bitrate); err != nil {
		return nil, err
	}
	p.asc = p.enc.AudioSpecificConfig()
	if err = p.init("opus to aac", channels, sampleRate, p.encodePCM, p.skip); err != nil {
		p.Close()
		return nil, err
	}
	p.frame = make([]int16, AACFrameSamples*channels)
	p.out = make([]byte, 768*channels) // 6144 bits per channel per frame
	return p, nil
}

// AudioSpecificConfig is the AAC config for the RTMP sequence header or MP4
// esds box. Do not modify it.
func (p *OpusToAAC) AudioSpecificConfig() []byte { return p.asc }

// Push transcodes one Opus RTP payload and calls emit for every complete AAC
// frame; aac is only valid during the call. ptsMs counts from the first
// packet's RTP timestamp (pts 0) in the sample clock: a gap in RTP
// timestamps is filled with concealment or silence (up to 10 s, and no
// more than the wall-clock time since the previous packet plus 200 ms) so
// the audio keeps time, a late or duplicate packet is dropped, and a longer
// gap (or the part of one that time did not pass) moves pts forward
// without audio.
func (p *OpusToAAC) Push(opus []byte, rtpTimestamp uint32, emit func(aac []byte, ptsMs uint32)) error {
	if p.enc == nil {
		return ErrClosed
	}
	return p.push(opus, rtpTimestamp, emit)
}

// Flush pads a partly filled frame with silence and emits it, so the end of a
// recording is not cut short by up to 21 ms.
func (p *OpusToAAC) Flush(emit func(aac []byte, ptsMs uint32)) error {
	if p.enc == nil {
		return ErrClosed
	}
	if p.fill == 0 {
		return nil
	}
	clear(p.frame[p.fill*p.channels:])
	p.emit = emit
	err := p.encodeFrame()
	p.emit = nil
	return err
}

// encodePCM fills frames with PCM at the AAC rate and encodes each full one.
func (p *OpusToAAC) encodePCM(pcm []int16) error {
	for len(pcm) > 0 {
		k := copy(p.frame[p.fill*p.channels:], pcm)
		pcm = pcm[k:]
		p.fill += k / p.channels
		if p.fill == AACFrameSamples {
			if err := p.encodeFrame(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *OpusToAAC) encodeFrame() error {
	n, err := p.enc.Encode(p.frame, p.out)
	pts := p.basePts + uint32(p.pos*1000/uint64(p.rate))
	p.pos += AACFrameSamples
	p.fill = 0
	if err != nil {
		return err
	}
	if n > 0 {
		p.emit(p.out[:n], pts)
	}
	return nil
}

// skip moves the timeline past a gap too long to fill; the partial frame
// (under 23 ms) is dropped.
func (p *OpusToAAC) skip(samples48k uint32) {
	p.basePts += uint32((p.pos+uint64(p.fill))*1000/uint64(p.rate)) + samples48k/(opusRate/1000)
	p.pos, p.fill = 0, 0
}

// Close frees the codecs. It is safe to call more than once.
func (p *OpusToAAC) Close() error {
	p.opusInput.close()
	p.enc.Close()
	p.enc = nil
	return nil
}
