//go:build cgo

package codec

/*
#include <stdlib.h>
#include <string.h>
#include <neaacdec.h>

// faad2 reads its input in 32-bit words; frames are copied into this padded
// buffer so no read can run past the end of a Go slice.
#define TRTCD_AAC_MAX_IN 8192
#define TRTCD_AAC_PAD 16

typedef struct {
	NeAACDecHandle h;
	NeAACDecFrameInfo info; // kept in C memory: no Go allocation per frame
	unsigned char in[TRTCD_AAC_MAX_IN + TRTCD_AAC_PAD];
} trtcd_aacdec;

static trtcd_aacdec *trtcd_aacdec_open(const unsigned char *asc, unsigned long n,
		unsigned long *rate, unsigned char *channels, int *err) {
	trtcd_aacdec *d = calloc(1, sizeof *d);
	if (d == NULL) { *err = -100; return NULL; }
	d->h = NeAACDecOpen();
	if (d->h == NULL) { free(d); *err = -101; return NULL; }
	NeAACDecConfigurationPtr cfg = NeAACDecGetCurrentConfiguration(d->h);
	cfg->outputFormat = FAAD_FMT_16BIT;
	cfg->downMatrix = 1;              // 5.1 and friends come out as stereo
	// An AAC-LC stream at 24 kHz or less may carry SBR without saying so;
	// faad2 would upsample every such stream to twice its rate just in
	// case. It does not: its frames come out at the core rate, or at
	// twice it only if SBR data actually appears. Init2's rate is the
	// doubled one either way, so the decoder never believes it (see
	// AACDecoder.rate).
	cfg->dontUpSampleImplicitSBR = 1;
	NeAACDecSetConfiguration(d->h, cfg);
	memcpy(d->in, asc, n);
	*err = NeAACDecInit2(d->h, d->in, n, rate, channels);
	if (*err < 0) { NeAACDecClose(d->h); free(d); return NULL; }
	return d;
}

static const short *trtcd_aacdec_decode(trtcd_aacdec *d, const unsigned char *frame, unsigned long n) {
	memcpy(d->in, frame, n);
	memset(d->in + n, 0, TRTCD_AAC_PAD);
	return NeAACDecDecode(d->h, &d->info, d->in, n);
}

static void trtcd_aacdec_close(trtcd_aacdec *d) {
	NeAACDecClose(d->h);
	free(d);
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// aacMaxFrameBytes bounds an input frame: 6144 bits per channel
// (ISO/IEC 14496-3 §4.5.3.2) for 8 channels is 6144 bytes; anything larger is
// not AAC.
const aacMaxFrameBytes = C.TRTCD_AAC_MAX_IN

// AACDecoder decodes raw AAC frames (as carried by RTMP/FLV and MP4, without
// ADTS headers) to interleaved 16-bit PCM.
type AACDecoder struct {
	st      *C.trtcd_aacdec
	cleanup runtime.Cleanup
	// rate is the config's output rate until the first decoded frame,
	// then that frame's, which every later frame must have. faad2's
	// NeAACDecInit2 cannot be asked: it doubles the rate of every AAC-LC
	// stream at 24 kHz or less (implicit SBR) that then decodes at the
	// core rate, and a 16 kHz stream would have every frame refused.
	rate        int
	rateSettled bool
	channels    int
}

// NewAACDecoder creates a decoder for the stream the AudioSpecificConfig (the
// RTMP AAC sequence header payload) describes.
//
// Output has the config's channel count: mono stays mono (faad2 upmixes
// mono to stereo, in case Parametric Stereo appears, so the decoder mixes it
// back), and configs with more than two channels are downmixed to stereo.
func NewAACDecoder(audioSpecificConfig []byte) (*AACDecoder, error) {
	asc, err := parseASC(audioSpecificConfig)
	if err != nil {
		return nil, err
	}
	if len(audioSpecificConfig) > 64 {
		return nil, fmt.Errorf("%w: %d bytes is too long", ErrInvalidConfig, len(audioSpecificConfig))
	}
	var (
		rate C.ulong
		ch   C.uchar
		cerr C.int
	)
	st := C.trtcd_aacdec_open((*C.uchar)(unsafe.Pointer(&audioSpecificConfig[0])), C.ulong(len(audioSpecificConfig)), &rate, &ch, &cerr)
	if st == nil {
		return nil, fmt.Errorf("%w: faad2 NeAACDecInit2 failed (%d)", ErrInvalidConfig, int(cerr))
	}
	d := &AACDecoder{st: st, rate: asc.outputRate(), channels: 2}
	if asc.channelConfig == 1 {
		d.channels = 1
	}
	d.cleanup = runtime.AddCleanup(d, func(st *C.trtcd_aacdec) { C.trtcd_aacdec_close(st) }, st)
	return d, nil
}

// SampleRate is the output sample rate in Hz: what the config announces
// until a frame has been decoded, then what the stream really has (an
// AAC-LC stream with SBR it did not announce decodes to twice the
// config's rate). It does not change after the first decoded frame.
func (d *AACDecoder) SampleRate() int { return d.rate }

// Channels is the output channel count, 1 or 2.
func (d *AACDecoder) Channels() int { return d.channels }

// Decode decodes one raw AAC frame into pcm and returns the samples per
// channel written. The first frame yields 0 samples: faad2 drops the MDCT
// warm-up frame.
func (d *AACDecoder) Decode(frame []byte, pcm []int16) (int, error) {
	if d.st == nil {
		return 0, ErrClosed
	}
	if len(frame) == 0 || len(frame) > aacMaxFrameBytes {
		return 0, fmt.Errorf("%w: AAC frame of %d bytes", ErrCorruptData, len(frame))
	}
	out := C.trtcd_aacdec_decode(d.st, (*C.uchar)(unsafe.Pointer(&frame[0])), C.ulong(len(frame)))
	info := &d.st.info
	if info.error != 0 {
		return 0, fmt.Errorf("%w: faad2: %s", ErrCorruptData, C.GoString(C.NeAACDecGetErrorMessage(info.error)))
	}
	if out == nil || info.samples == 0 || info.channels == 0 {
		return 0, nil
	}
	switch rate := int(info.samplerate); {
	case !d.rateSettled:
		if !isAACSampleRate(rate) {
			return 0, fmt.Errorf("%w: faad2 decoded to %d Hz, not an AAC rate", ErrCorruptData, rate)
		}
		d.rate, d.rateSettled = rate, true
	case rate != d.rate:
		return 0, fmt.Errorf("%w: sample rate changed from %d to %d Hz", ErrCorruptData, d.rate, int(info.samplerate))
	}
	inCh := int(info.channels)
	total := int(info.samples)
	if total%inCh != 0 || total/inCh > AACMaxFrameSamples {
		return 0, fmt.Errorf("%w: faad2 returned %d samples for %d channels", ErrCorruptData, total, inCh)
	}
	n := total / inCh
	if len(pcm) < n*d.channels {
		return 0, fmt.Errorf("%w: %d samples needed, %d given", ErrBufferTooSmall, n*d.channels, len(pcm))
	}
	src := unsafe.Slice((*int16)(unsafe.Pointer(out)), total)
	switch {
	case inCh == d.channels:
		copy(pcm, src)
	case d.channels == 1:
		// faad2's upmixed mono (or Parametric Stereo): average the first
		// two channels, which is exact for duplicated mono.
		for i := range n {
			pcm[i] = int16((int32(src[i*inCh]) + int32(src[i*inCh+1])) >> 1)
		}
	case inCh == 1:
		for i := range n {
			pcm[2*i], pcm[2*i+1] = src[i], src[i]
		}
	default: // downMatrix should prevent this; keep front left and right
		for i := range n {
			pcm[2*i], pcm[2*i+1] = src[i*inCh], src[i*inCh+1]
		}
	}
	return n, nil
}

// Close frees the decoder. It is safe to call more than once.
func (d *AACDecoder) Close() error {
	if d != nil && d.st != nil {
		d.cleanup.Stop()
		C.trtcd_aacdec_close(d.st)
		d.st = nil
	}
	return nil
}
