package codec

import "fmt"

// Opus frames for WebRTC are 20 ms at 48 kHz: what browsers send and expect.
const (
	opusRate        = 48000
	opusFrameSample = opusRate / 50
)

// aacRebaseMs is how far an RTMP pts may drift from the sample count before
// the timeline restarts at the new pts. RTMP timestamps are whole
// milliseconds with a few ms of jitter, so within this window the sample
// count is the truth; beyond it the publisher paused, reconnected or cut.
const aacRebaseMs = 500

// AACToOpus transcodes an RTMP/FLV AAC stream into 20 ms Opus frames for
// WebRTC viewers: AAC decode, resample to 48 kHz when needed, re-frame to
// 960 samples, Opus encode.
//
// The Opus encoder has the AAC stream's channel count (1 or 2, see
// Channels), unless AACToOpusOptions.MonoSourceChannels asks for a mono
// source on two channels: mono Opus costs fewer bits and less CPU, and
// every opus/48000/2 receiver plays it on both ears (the SDP always says 2
// channels; each Opus packet carries its own stereo flag).
type AACToOpus struct {
	dec      *AACDecoder
	rs       rateConverter // nil when the AAC stream is already 48 kHz
	rsRate   int           // the rate rs converts from (48000 without rs)
	enc      *OpusEncoder
	srcCh    int // the AAC stream's channels
	channels int // the Opus encoder's
	lastN    int // samples/channel of the last good AAC frame, for error fill

	pcm    []int16 // decoder output
	rsOut  []int16 // resampler output
	upmix  []int16 // a mono source on two channels (MonoSourceChannels 2)
	frame  []int16 // the 20 ms frame being filled
	fill   int     // samples/channel in frame
	packet []byte

	started bool
	basePts uint32 // RTMP pts (ms) of timeline sample 0
	base48  uint32 // RTP timestamp of timeline sample 0
	pos     uint64 // 48 kHz samples already emitted on this timeline
}

// NewAACToOpus creates a transcoder for the AAC stream described by asc (the
// RTMP AAC sequence header payload), encoding Opus at opusBitrate bit/s
// with the default complexity, a mono source as mono.
func NewAACToOpus(asc []byte, opusBitrate int) (*AACToOpus, error) {
	return NewAACToOpusWith(asc, AACToOpusOptions{Bitrate: opusBitrate, Complexity: DefaultOpusComplexity})
}

// NewAACToOpusWith creates a transcoder for the AAC stream described by asc
// with the given Opus settings.
func NewAACToOpusWith(asc []byte, o AACToOpusOptions) (*AACToOpus, error) {
	if !ValidOpusComplexity(o.Complexity) || o.MonoSourceChannels < 0 || o.MonoSourceChannels > 2 {
		return nil, fmt.Errorf("%w: opus complexity %d, %d channels for mono", ErrInvalidArgument, o.Complexity, o.MonoSourceChannels)
	}
	dec, err := NewAACDecoder(asc)
	if err != nil {
		return nil, err
	}
	p := &AACToOpus{dec: dec, srcCh: dec.Channels(), channels: dec.Channels(), lastN: AACFrameSamples}
	if p.srcCh == 1 && o.MonoSourceChannels == 2 {
		p.channels = 2
	}
	if p.enc, err = NewOpusEncoder(opusRate, p.channels, o.Bitrate); err != nil {
		p.Close()
		return nil, err
	}
	if err = p.enc.SetComplexity(o.Complexity); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.setSourceRate(dec.SampleRate()); err != nil {
		p.Close()
		return nil, err
	}
	p.pcm = make([]int16, AACMaxFrameSamples*p.srcCh)
	p.frame = make([]int16, opusFrameSample*p.channels)
	p.packet = make([]byte, OpusMaxPacket)
	return p, nil
}

// setSourceRate puts the resampler for rate in front of the encoder: at
// construction with the rate the config announces, and again if the first
// decoded frame has another (an AAC-LC config hiding SBR).
func (p *AACToOpus) setSourceRate(rate int) error {
	if p.rs != nil {
		p.rs.Close()
		p.rs, p.rsOut = nil, nil
	}
	p.rsRate = rate
	// A 48 kHz source goes straight to the encoder: no resampler, no copy.
	if rate != opusRate {
		rs, err := newResamplerTo48k(p.srcCh, rate)
		if err != nil {
			return err
		}
		p.rs = rs
		p.rsOut = make([]int16, p.rs.MaxOutput(AACMaxFrameSamples)*p.srcCh)
	}
	if p.channels != p.srcCh {
		p.upmix = make([]int16, 2*max(AACMaxFrameSamples, len(p.rsOut)))
	}
	return nil
}

// newResamplerTo48k is the resampler in front of the Opus encoder: the
// pure-Go polyphase filter for every AAC rate under 48 kHz (flatter, with
// quieter images, and cheaper than speexdsp at quality 1; see
// polyphase.go), and speexdsp for the 64-96 kHz rates, which need
// downsampling.
func newResamplerTo48k(channels, rate int) (rateConverter, error) {
	if rate < opusRate {
		return newPolyphaseResampler(channels, rate, opusRate)
	}
	return newResampler(channels, rate, opusRate, aacToOpusResampleQuality)
}

// Channels is the channel count of the Opus packets produced (1 or 2).
func (p *AACToOpus) Channels() int { return p.channels }

// Push transcodes one raw AAC frame with its RTMP timestamp and calls emit for
// every complete 20 ms Opus frame (zero, one or two per AAC frame). opus is
// only valid during the call. rtpTimestamp48k is first pts × 48 plus the
// samples sent since, so RTMP timestamp jitter never shows up as RTP jitter;
// a pts that disagrees with the sample count by more than 500 ms restarts
// the timeline there (a partly filled frame is dropped). The audio runs one
// AAC frame (21-23 ms) behind its pts, constantly: faad2 outputs nothing for
// the first frame, which holds the AAC encoder's priming anyway.
//
// A frame that fails to decode returns an error and is replaced by silence
// of the same length, so the timeline stays in step.
func (p *AACToOpus) Push(aacFrame []byte, ptsMs uint32, emit func(opus []byte, rtpTimestamp48k uint32)) error {
	if p.dec == nil {
		return ErrClosed
	}
	p.checkTimeline(ptsMs)
	n, decErr := p.dec.Decode(aacFrame, p.pcm)
	if decErr != nil {
		n = p.lastN
		clear(p.pcm[:n*p.srcCh])
		decErr = fmt.Errorf("aac to opus: %w", decErr)
	} else if n > 0 {
		p.lastN = n
		if r := p.dec.SampleRate(); r != p.rsRate {
			if err := p.setSourceRate(r); err != nil {
				return fmt.Errorf("aac to opus: %w", err)
			}
		}
	}
	pcm := p.pcm[:n*p.srcCh]
	pcm, err := resampled(p.rs, pcm, p.rsOut, p.srcCh)
	if err != nil {
		return fmt.Errorf("aac to opus: %w", err)
	}
	if p.upmix != nil {
		for i, v := range pcm {
			p.upmix[2*i], p.upmix[2*i+1] = v, v
		}
		pcm = p.upmix[:2*len(pcm)]
	}
	if err := p.append(pcm, emit); err != nil {
		return err
	}
	return decErr
}

// checkTimeline starts the timeline at the first pts and restarts it when
// the pts leaves the ±aacRebaseMs window around the sample count.
func (p *AACToOpus) checkTimeline(ptsMs uint32) {
	if p.started {
		expected := p.basePts + uint32((p.pos+uint64(p.fill))*1000/opusRate)
		if d := int32(ptsMs - expected); d <= aacRebaseMs && d >= -aacRebaseMs {
			return
		}
	}
	p.started = true
	p.basePts = ptsMs
	p.base48 = ptsMs * (opusRate / 1000) // wraps like any RTP timestamp
	p.pos = 0
	p.fill = 0
}

// append adds 48 kHz PCM to the frame buffer, encoding each full frame.
func (p *AACToOpus) append(pcm []int16, emit func([]byte, uint32)) error {
	for len(pcm) > 0 {
		k := copy(p.frame[p.fill*p.channels:], pcm)
		pcm = pcm[k:]
		p.fill += k / p.channels
		if p.fill < opusFrameSample {
			continue
		}
		n, err := p.enc.Encode(p.frame, p.packet)
		ts := p.base48 + uint32(p.pos)
		p.pos += opusFrameSample
		p.fill = 0
		if err != nil {
			return fmt.Errorf("aac to opus: %w", err)
		}
		emit(p.packet[:n], ts)
	}
	return nil
}

// Close frees the codecs. It is safe to call more than once.
func (p *AACToOpus) Close() error {
	p.dec.Close()
	if p.rs != nil {
		p.rs.Close()
	}
	p.enc.Close()
	p.dec, p.rs, p.enc = nil, nil, nil
	return nil
}
