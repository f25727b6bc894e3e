//go:build cgo

package codec

/*
#include <speex/speex_resampler.h>

// Results come back by value: Go variables passed by address to C escape to
// the heap, one allocation per call.
typedef struct {
	int err;
	spx_uint32_t in_used, out_written;
} trtcd_resample_result;

static trtcd_resample_result trtcd_resample(SpeexResamplerState *st, const spx_int16_t *in, spx_uint32_t in_len,
		spx_int16_t *out, spx_uint32_t out_len) {
	trtcd_resample_result r;
	r.in_used = in_len;
	r.out_written = out_len;
	r.err = speex_resampler_process_interleaved_int(st, in, &r.in_used, out, &r.out_written);
	return r;
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// resampleQuality is speexdsp's 0-10 scale (5 is its "desktop" default):
// at 3, 48 → 44.1 kHz for FLV playback's AAC keeps aliasing near -80 dB,
// for about 0.45 % of a core per stereo stream.
const resampleQuality = 3

// aacToOpusResampleQuality is speexdsp's quality in front of the Opus
// encoder for the AAC rates above 48 kHz (64-96 kHz, rare from RTMP
// pushers); every lower rate, 44.1 kHz above all, goes through the
// polyphase resampler (polyphase.go), which is flatter, has quieter
// images and costs less. Measured for 44.1 kHz (BenchmarkAACToOpusOptions,
// TestPolyphaseBeatsSpeexQuality1): quality 1 is -0.1 dB at 15 kHz and
// -1.2 dB at 17 kHz, images at -59 dB, and it costs 0.31 % of a core per
// stereo stream against quality 3's 0.47 %; quality 0 droops 1.7 dB at
// 15 kHz.
const aacToOpusResampleQuality = 1

// Resampler converts interleaved 16-bit PCM between sample rates (speexdsp).
type Resampler struct {
	st       *C.SpeexResamplerState
	cleanup  runtime.Cleanup
	channels int
	inRate   int
	outRate  int
}

// NewResampler creates a resampler for channels (1 or 2) from inRate to
// outRate (each 4000-192000 Hz). Its filter delay is skipped, so output
// sample k corresponds to input time k/outRate.
func NewResampler(channels, inRate, outRate int) (*Resampler, error) {
	return newResampler(channels, inRate, outRate, resampleQuality)
}

func newResampler(channels, inRate, outRate, quality int) (*Resampler, error) {
	if channels < 1 || channels > 2 || inRate < 4000 || inRate > 192000 || outRate < 4000 || outRate > 192000 {
		return nil, fmt.Errorf("%w: resampler %d channels, %d → %d Hz", ErrInvalidArgument, channels, inRate, outRate)
	}
	var cerr C.int
	st := C.speex_resampler_init(C.spx_uint32_t(channels), C.spx_uint32_t(inRate), C.spx_uint32_t(outRate), C.int(quality), &cerr)
	if st == nil || cerr != 0 {
		return nil, fmt.Errorf("codec: speex_resampler_init: %s", C.GoString(C.speex_resampler_strerror(cerr)))
	}
	C.speex_resampler_skip_zeros(st)
	r := &Resampler{st: st, channels: channels, inRate: inRate, outRate: outRate}
	r.cleanup = runtime.AddCleanup(r, func(st *C.SpeexResamplerState) { C.speex_resampler_destroy(st) }, st)
	return r, nil
}

// MaxOutput is the most samples per channel Process can produce from
// inSamplesPerChannel; size out to MaxOutput(n)*channels.
func (r *Resampler) MaxOutput(inSamplesPerChannel int) int {
	return inSamplesPerChannel*r.outRate/r.inRate + 2
}

// Process resamples all of in (interleaved) into out and returns the samples
// per channel written. If out is too small the input is only partly consumed
// and ErrBufferTooSmall is returned with the samples that were written.
func (r *Resampler) Process(in []int16, out []int16) (int, error) {
	if r.st == nil {
		return 0, ErrClosed
	}
	if len(in)%r.channels != 0 {
		return 0, fmt.Errorf("%w: %d samples is not a whole number of %d-channel frames", ErrInvalidArgument, len(in), r.channels)
	}
	inN := len(in) / r.channels
	outN := len(out) / r.channels
	if inN == 0 {
		return 0, nil
	}
	if outN == 0 {
		return 0, fmt.Errorf("%w: resampler output of %d samples", ErrBufferTooSmall, len(out))
	}
	// speexdsp writes at most outN frames and reports what it consumed.
	res := C.trtcd_resample(r.st, (*C.spx_int16_t)(unsafe.Pointer(&in[0])), C.spx_uint32_t(inN),
		(*C.spx_int16_t)(unsafe.Pointer(&out[0])), C.spx_uint32_t(outN))
	if res.err != 0 {
		return 0, fmt.Errorf("codec: speex resampler: %s", C.GoString(C.speex_resampler_strerror(res.err)))
	}
	inLen, outLen := res.in_used, res.out_written
	if int(outLen) > outN {
		return 0, fmt.Errorf("codec: speex resampler wrote %d samples into %d", int(outLen), outN)
	}
	if int(inLen) < inN {
		return int(outLen), fmt.Errorf("%w: resampler consumed %d of %d samples", ErrBufferTooSmall, int(inLen), inN)
	}
	return int(outLen), nil
}

// Close frees the resampler. It is safe to call more than once.
func (r *Resampler) Close() error {
	if r != nil && r.st != nil {
		r.cleanup.Stop()
		C.speex_resampler_destroy(r.st)
		r.st = nil
	}
	return nil
}
