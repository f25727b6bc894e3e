package codec

import "fmt"

// OpusToMP3 transcodes a WebRTC Opus stream to an MP3 byte stream for
// audio-only recordings, keeping time across gaps like OpusToAAC.
type OpusToMP3 struct {
	rx       opusReceiver
	rs       *Resampler // nil at 48 kHz
	enc      *MP3Encoder
	channels int

	rsOut []int16
	out   []byte

	emit   func(mp3 []byte) // the caller's, during Push/Flush
	sinkFn func([]int16) error
	skipFn func(uint32)
}

// NewOpusToMP3 creates a transcoder producing CBR MP3 with channels (1 or 2)
// at sampleRate (48000 or 44100) and bitrate bit/s (e.g. 128000).
func NewOpusToMP3(channels, sampleRate, bitrate int) (*OpusToMP3, error) {
	if sampleRate != 48000 && sampleRate != 44100 {
		return nil, fmt.Errorf("%w: opus to MP3 at %d Hz (48000 or 44100)", ErrInvalidArgument, sampleRate)
	}
	p := &OpusToMP3{channels: channels}
	var err error
	if p.enc, err = NewMP3Encoder(sampleRate, channels, bitrate); err != nil {
		return nil, err
	}
	if err = p.rx.init(channels); err != nil {
		p.Close()
		return nil, err
	}
	maxIn := OpusMaxFrameSamples
	if sampleRate != opusRate {
		if p.rs, err = NewResampler(channels, opusRate, sampleRate); err != nil {
			p.Close()
			return nil, err
		}
		maxIn = p.rs.MaxOutput(OpusMaxFrameSamples)
		p.rsOut = make([]int16, maxIn*channels)
	}
	p.out = make([]byte, maxIn*5/4+MP3FlushBytes) // LAME's worst case
	p.sinkFn = p.sink
	p.skipFn = func(uint32) {} // an MP3 stream has no timestamps: just join
	return p, nil
}

// Push transcodes one Opus RTP payload and calls emit with the MP3 bytes that
// became ready (not necessarily whole frames; append them to the file).
// Gaps in RTP timestamps up to 10 s become concealment or silence.
func (p *OpusToMP3) Push(opus []byte, rtpTimestamp uint32, emit func(mp3 []byte)) error {
	if p.enc == nil {
		return ErrClosed
	}
	p.emit = emit
	err := p.rx.push(opus, rtpTimestamp, p.sinkFn, p.skipFn)
	p.emit = nil
	if err != nil {
		return fmt.Errorf("opus to mp3: %w", err)
	}
	return nil
}

// Flush emits the MP3 data LAME still holds; call it once at the end.
func (p *OpusToMP3) Flush(emit func(mp3 []byte)) error {
	if p.enc == nil {
		return ErrClosed
	}
	n, err := p.enc.Flush(p.out)
	if err != nil {
		return fmt.Errorf("opus to mp3: %w", err)
	}
	if n > 0 {
		emit(p.out[:n])
	}
	return nil
}

func (p *OpusToMP3) sink(pcm []int16) error {
	pcm, err := resampled(p.rs, pcm, p.rsOut, p.channels)
	if err != nil {
		return err
	}
	n, err := p.enc.Encode(pcm, p.out)
	if err != nil {
		return err
	}
	if n > 0 {
		p.emit(p.out[:n])
	}
	return nil
}

// Close frees the codecs. It is safe to call more than once.
func (p *OpusToMP3) Close() error {
	p.rx.close()
	p.rs.Close()
	p.enc.Close()
	p.rs, p.enc = nil, nil
	return nil
}
