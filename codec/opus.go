//go:build cgo

package codec

/*
#include <opus.h>

// opus_encoder_ctl is variadic, which cgo cannot call.
static int trtcd_opus_enc_set(OpusEncoder *st, int bitrate, int complexity) {
	int err = opus_encoder_ctl(st, OPUS_SET_BITRATE(bitrate));
	if (err != OPUS_OK) return err;
	return opus_encoder_ctl(st, OPUS_SET_COMPLEXITY(complexity));
}

static int trtcd_opus_enc_complexity(OpusEncoder *st, int complexity) {
	return opus_encoder_ctl(st, OPUS_SET_COMPLEXITY(complexity));
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// opusValidRate reports whether libopus accepts the rate.
func opusValidRate(rate int) bool {
	switch rate {
	case 8000, 12000, 16000, 24000, 48000:
		return true
	}
	return false
}

// OpusEncoder encodes interleaved 16-bit PCM to Opus packets
// (OPUS_APPLICATION_AUDIO: RTMP ingest carries music as often as speech).
type OpusEncoder struct {
	st       *C.OpusEncoder
	cleanup  runtime.Cleanup
	rate     int
	channels int
}

// NewOpusEncoder creates an encoder; sampleRate is one of 8000, 12000, 16000,
// 24000, 48000, channels is 1 or 2, bitrate in bit/s (6000-510000).
func NewOpusEncoder(sampleRate, channels, bitrate int) (*OpusEncoder, error) {
	if !opusValidRate(sampleRate) || channels < 1 || channels > 2 || bitrate < 6000 || bitrate > 510000 {
		return nil, fmt.Errorf("%w: opus encoder %d Hz, %d channels, %d bit/s", ErrInvalidArgument, sampleRate, channels, bitrate)
	}
	var cerr C.int
	st := C.opus_encoder_create(C.opus_int32(sampleRate), C.int(channels), C.OPUS_APPLICATION_AUDIO, &cerr)
	if cerr != C.OPUS_OK || st == nil {
		return nil, fmt.Errorf("codec: opus_encoder_create: %s", C.GoString(C.opus_strerror(cerr)))
	}
	if r := C.trtcd_opus_enc_set(st, C.int(bitrate), C.int(DefaultOpusComplexity)); r != C.OPUS_OK {
		C.opus_encoder_destroy(st)
		return nil, fmt.Errorf("codec: opus_encoder_ctl: %s", C.GoString(C.opus_strerror(r)))
	}
	e := &OpusEncoder{st: st, rate: sampleRate, channels: channels}
	// Safety net for a forgotten Close; Close stops it.
	e.cleanup = runtime.AddCleanup(e, func(st *C.OpusEncoder) { C.opus_encoder_destroy(st) }, st)
	return e, nil
}

// SetComplexity sets libopus' encoder complexity, 0-10 (see
// DefaultOpusComplexity): higher is slower and, at low bitrates, better.
func (e *OpusEncoder) SetComplexity(complexity int) error {
	if e.st == nil {
		return ErrClosed
	}
	if !ValidOpusComplexity(complexity) {
		return fmt.Errorf("%w: opus complexity %d (0-10)", ErrInvalidArgument, complexity)
	}
	if r := C.trtcd_opus_enc_complexity(e.st, C.int(complexity)); r != C.OPUS_OK {
		return fmt.Errorf("codec: opus_encoder_ctl: %s", C.GoString(C.opus_strerror(r)))
	}
	return nil
}

// Encode encodes one frame of interleaved PCM (normally 20 ms:
// sampleRate/50*channels samples; 2.5, 5, 10, 40 and 60 ms also work) into
// out and returns the packet length. out of OpusMaxPacket bytes always
// suffices.
func (e *OpusEncoder) Encode(pcm []int16, out []byte) (int, error) {
	if e.st == nil {
		return 0, ErrClosed
	}
	if len(pcm) == 0 || len(pcm)%e.channels != 0 || len(out) == 0 {
		return 0, fmt.Errorf("%w: opus encode of %d samples into %d bytes", ErrInvalidArgument, len(pcm), len(out))
	}
	frameSize := len(pcm) / e.channels
	// libopus reads exactly frameSize*channels samples and writes at most
	// len(out) bytes, so both slices bound the C side.
	n := C.opus_encode(e.st, (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(frameSize),
		(*C.uchar)(unsafe.Pointer(&out[0])), C.opus_int32(min(len(out), 1<<30)))
	if n < 0 {
		return 0, fmt.Errorf("codec: opus_encode (%d samples/channel): %s", frameSize, C.GoString(C.opus_strerror(C.int(n))))
	}
	return int(n), nil
}

// Close frees the encoder. It is safe to call more than once.
func (e *OpusEncoder) Close() error {
	if e != nil && e.st != nil {
		e.cleanup.Stop()
		C.opus_encoder_destroy(e.st)
		e.st = nil
	}
	return nil
}

// OpusDecoder decodes Opus packets to interleaved 16-bit PCM. The packet's
// own channel count does not matter: libopus up- or downmixes to the
// decoder's.
type OpusDecoder struct {
	st       *C.OpusDecoder
	cleanup  runtime.Cleanup
	channels int
}

// NewOpusDecoder creates a decoder producing sampleRate (8000, 12000, 16000,
// 24000 or 48000) and channels (1 or 2).
func NewOpusDecoder(sampleRate, channels int) (*OpusDecoder, error) {
	if !opusValidRate(sampleRate) || channels < 1 || channels > 2 {
		return nil, fmt.Errorf("%w: opus decoder %d Hz, %d channels", ErrInvalidArgument, sampleRate, channels)
	}
	var cerr C.int
	st := C.opus_decoder_create(C.opus_int32(sampleRate), C.int(channels), &cerr)
	if cerr != C.OPUS_OK || st == nil {
		return nil, fmt.Errorf("codec: opus_decoder_create: %s", C.GoString(C.opus_strerror(cerr)))
	}
	d := &OpusDecoder{st: st, channels: channels}
	d.cleanup = runtime.AddCleanup(d, func(st *C.OpusDecoder) { C.opus_decoder_destroy(st) }, st)
	return d, nil
}

// Decode decodes packet into pcm and returns the samples per channel written.
// A nil or empty packet asks for packet loss concealment of exactly
// len(pcm)/channels samples, which must be a multiple of 2.5 ms. For a real
// packet pcm must hold the whole packet (OpusMaxFrameSamples per channel is
// always enough).
func (d *OpusDecoder) Decode(packet []byte, pcm []int16) (int, error) {
	if d.st == nil {
		return 0, ErrClosed
	}
	frameSize := len(pcm) / d.channels
	if frameSize == 0 {
		return 0, fmt.Errorf("%w: opus decode into %d samples", ErrInvalidArgument, len(pcm))
	}
	var data *C.uchar
	if len(packet) > 0 {
		data = (*C.uchar)(unsafe.Pointer(&packet[0]))
	}
	// frameSize bounds what libopus writes: it fails with
	// OPUS_BUFFER_TOO_SMALL rather than write past it.
	n := C.opus_decode(d.st, data, C.opus_int32(min(len(packet), 1<<30)),
		(*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(frameSize), 0)
	if n < 0 {
		if n == C.OPUS_BUFFER_TOO_SMALL {
			return 0, fmt.Errorf("%w: opus packet longer than %d samples/channel", ErrBufferTooSmall, frameSize)
		}
		return 0, fmt.Errorf("%w: opus_decode: %s", ErrCorruptData, C.GoString(C.opus_strerror(C.int(n))))
	}
	return int(n), nil
}

// Close frees the decoder. It is safe to call more than once.
func (d *OpusDecoder) Close() error {
	if d != nil && d.st != nil {
		d.cleanup.Stop()
		C.opus_decoder_destroy(d.st)
		d.st = nil
	}
	return nil
}
