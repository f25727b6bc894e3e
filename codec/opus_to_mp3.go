package codec

import "fmt"

// OpusToMP3 transcodes a WebRTC Opus stream to an MP3 byte stream for
// audio-only recordings, keeping time across gaps like OpusToAAC.
type OpusToMP3 struct {
	opusInput[func(mp3 []byte)] // decode, resample; emit during Push

	enc *MP3Encoder
	out []byte
}

// NewOpusToMP3 creates a transcoder producing CBR MP3 with channels (1 or 2)
// at sampleRate (48000 or 44100) and bitrate bit/s (e.g. 128000).
func NewOpusToMP3(channels, sampleRate, bitrate int) (*OpusToMP3, error) {
	if sampleRate != 48000 && sampleRate != 44100 {
		return nil, fmt.Errorf("%w: opus to MP3 at %d Hz (48000 or 44100)", ErrInvalidArgument, sampleRate)
	}
	p := &OpusToMP3{}
	var err error
	if p.enc, err = NewMP3Encoder(sampleRate, channels, bitrate); err != nil {
		return nil, err
	}
	// An MP3 stream has no timestamps: a gap too long to fill is just joined.
	if err = p.init("opus to mp3", channels, sampleRate, p.encodePCM, func(uint32) {}); err != nil {
		p.Close()
		return nil, err
	}
	p.out = make([]byte, p.maxOutput()*5/4+MP3FlushBytes) // LAME's worst case
	return p, nil
}

// Push transcodes one Opus RTP payload and calls emit with the MP3 bytes that
// became ready (not necessarily whole frames; append them to the file).
// Gaps in RTP timestamps up to 10 s become concealment or silence, as far
// as wall-clock time passed since the previous packet (plus 200 ms).
func (p *OpusToMP3) Push(opus []byte, rtpTimestamp uint32, emit func(mp3 []byte)) error {
	if p.enc == nil {
		return ErrClosed
	}
	return p.push(opus, rtpTimestamp, emit)
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

// encodePCM encodes PCM at the MP3 rate.
func (p *OpusToMP3) encodePCM(pcm []int16) error {
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
	p.opusInput.close()
	p.enc.Close()
	p.enc = nil
	return nil
}
