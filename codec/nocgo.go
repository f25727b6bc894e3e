//go:build !cgo

package codec

// Without cgo there are no C codecs: the types exist so callers compile, and
// every constructor fails with ErrUnavailable, so no method is ever reached
// on a real value.

// OpusEncoder is unavailable without cgo.
type OpusEncoder struct{}

// NewOpusEncoder returns ErrUnavailable.
func NewOpusEncoder(sampleRate, channels, bitrate int) (*OpusEncoder, error) {
	return nil, ErrUnavailable
}

// SetComplexity returns ErrUnavailable.
func (e *OpusEncoder) SetComplexity(complexity int) error { return ErrUnavailable }

// Encode returns ErrUnavailable.
func (e *OpusEncoder) Encode(pcm []int16, out []byte) (int, error) { return 0, ErrUnavailable }

// Close does nothing.
func (e *OpusEncoder) Close() error { return nil }

// OpusDecoder is unavailable without cgo.
type OpusDecoder struct{}

// NewOpusDecoder returns ErrUnavailable.
func NewOpusDecoder(sampleRate, channels int) (*OpusDecoder, error) { return nil, ErrUnavailable }

// Decode returns ErrUnavailable.
func (d *OpusDecoder) Decode(packet []byte, pcm []int16) (int, error) { return 0, ErrUnavailable }

// Close does nothing.
func (d *OpusDecoder) Close() error { return nil }

// AACDecoder is unavailable without cgo.
type AACDecoder struct{}

// NewAACDecoder returns ErrUnavailable.
func NewAACDecoder(audioSpecificConfig []byte) (*AACDecoder, error) { return nil, ErrUnavailable }

// SampleRate returns 0.
func (d *AACDecoder) SampleRate() int { return 0 }

// Channels returns 0.
func (d *AACDecoder) Channels() int { return 0 }

// Decode returns ErrUnavailable.
func (d *AACDecoder) Decode(frame []byte, pcm []int16) (int, error) { return 0, ErrUnavailable }

// Close does nothing.
func (d *AACDecoder) Close() error { return nil }

// AACEncoder is unavailable without cgo.
type AACEncoder struct{}

// NewAACEncoder returns ErrUnavailable.
func NewAACEncoder(sampleRate, channels, bitrate int) (*AACEncoder, error) {
	return nil, ErrUnavailable
}

// AudioSpecificConfig returns nil.
func (e *AACEncoder) AudioSpecificConfig() []byte { return nil }

// FrameSamples returns AACFrameSamples.
func (e *AACEncoder) FrameSamples() int { return AACFrameSamples }

// Encode returns ErrUnavailable.
func (e *AACEncoder) Encode(pcm []int16, out []byte) (int, error) { return 0, ErrUnavailable }

// Close does nothing.
func (e *AACEncoder) Close() error { return nil }

// MP3Encoder is unavailable without cgo.
type MP3Encoder struct{}

// NewMP3Encoder returns ErrUnavailable.
func NewMP3Encoder(sampleRate, channels, bitrate int) (*MP3Encoder, error) {
	return nil, ErrUnavailable
}

// Encode returns ErrUnavailable.
func (e *MP3Encoder) Encode(pcm []int16, out []byte) (int, error) { return 0, ErrUnavailable }

// Flush returns ErrUnavailable.
func (e *MP3Encoder) Flush(out []byte) (int, error) { return 0, ErrUnavailable }

// Close does nothing.
func (e *MP3Encoder) Close() error { return nil }

// Resampler is unavailable without cgo.
type Resampler struct{}

// NewResampler returns ErrUnavailable.
func NewResampler(channels, inRate, outRate int) (*Resampler, error) { return nil, ErrUnavailable }

func newResampler(channels, inRate, outRate, quality int) (*Resampler, error) {
	return nil, ErrUnavailable
}

const aacToOpusResampleQuality = 0

// MaxOutput returns 0.
func (r *Resampler) MaxOutput(inSamplesPerChannel int) int { return 0 }

// Process returns ErrUnavailable.
func (r *Resampler) Process(in []int16, out []int16) (int, error) { return 0, ErrUnavailable }

// Close does nothing.
func (r *Resampler) Close() error { return nil }
