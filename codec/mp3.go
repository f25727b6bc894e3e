//go:build cgo

package codec

/*
#include <lame/lame.h>

static lame_global_flags *trtcd_lame_open(int rate, int channels, int kbps, int quality) {
	lame_global_flags *g = lame_init();
	if (g == NULL) return NULL;
	lame_set_in_samplerate(g, rate);
	lame_set_out_samplerate(g, rate); // never let LAME pick a lower rate
	lame_set_num_channels(g, channels);
	lame_set_mode(g, channels == 1 ? MONO : JOINT_STEREO);
	lame_set_brate(g, kbps);
	lame_set_quality(g, quality);
	lame_set_bWriteVbrTag(g, 0); // CBR stream, written as it goes: no Xing header to patch
	if (lame_init_params(g) < 0) { lame_close(g); return NULL; }
	return g;
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// lameQuality is LAME's -q: 0 best/slowest, 9 worst/fastest. 7 is LAME's own
// "fast, ok quality" preset; recordings are bulk work on the SFU host, and
// at 128 kbit/s the difference to 5 is not audible on voice.
const lameQuality = 7

// MP3Encoder encodes interleaved 16-bit PCM to a CBR MP3 stream (LAME).
type MP3Encoder struct {
	st       *C.lame_global_flags
	cleanup  runtime.Cleanup
	channels int
}

// NewMP3Encoder creates an encoder; sampleRate is an MPEG-1/2/2.5 rate
// (8000-48000), channels 1 or 2, bitrate in bit/s (a valid MP3 CBR rate,
// e.g. 64000 or 128000).
func NewMP3Encoder(sampleRate, channels, bitrate int) (*MP3Encoder, error) {
	if sampleRate < 8000 || sampleRate > 48000 || channels < 1 || channels > 2 || bitrate < 8000 || bitrate > 320000 {
		return nil, fmt.Errorf("%w: MP3 encoder %d Hz, %d channels, %d bit/s", ErrInvalidArgument, sampleRate, channels, bitrate)
	}
	st := C.trtcd_lame_open(C.int(sampleRate), C.int(channels), C.int(bitrate/1000), lameQuality)
	if st == nil {
		return nil, fmt.Errorf("%w: LAME rejected %d Hz, %d channels, %d bit/s", ErrInvalidArgument, sampleRate, channels, bitrate)
	}
	e := &MP3Encoder{st: st, channels: channels}
	e.cleanup = runtime.AddCleanup(e, func(st *C.lame_global_flags) { C.lame_close(st) }, st)
	return e, nil
}

// Encode feeds any number of interleaved samples and returns the MP3 bytes
// that became ready (often 0: LAME buffers about one frame). out should have
// len(pcm)/channels*5/4 + 7200 bytes, LAME's worst case.
func (e *MP3Encoder) Encode(pcm []int16, out []byte) (int, error) {
	if e.st == nil {
		return 0, ErrClosed
	}
	if len(pcm)%e.channels != 0 || len(out) == 0 {
		// len(out) == 0 would mean "unlimited" to LAME.
		return 0, fmt.Errorf("%w: MP3 encode of %d samples into %d bytes", ErrInvalidArgument, len(pcm), len(out))
	}
	if len(pcm) == 0 {
		return 0, nil
	}
	n := len(pcm) / e.channels
	pcmPtr := (*C.short)(unsafe.Pointer(&pcm[0]))
	outPtr := (*C.uchar)(unsafe.Pointer(&out[0]))
	outLen := C.int(min(len(out), 1<<30))
	var r C.int
	if e.channels == 1 {
		r = C.lame_encode_buffer(e.st, pcmPtr, nil, C.int(n), outPtr, outLen)
	} else {
		r = C.lame_encode_buffer_interleaved(e.st, pcmPtr, C.int(n), outPtr, outLen)
	}
	return lameResult(r, len(out))
}

// Flush encodes what LAME still buffers (padding the last frame) into out,
// which needs MP3FlushBytes. Call it once at the end of a recording.
func (e *MP3Encoder) Flush(out []byte) (int, error) {
	if e.st == nil {
		return 0, ErrClosed
	}
	if len(out) < MP3FlushBytes {
		return 0, fmt.Errorf("%w: MP3 flush needs %d bytes, %d given", ErrBufferTooSmall, MP3FlushBytes, len(out))
	}
	r := C.lame_encode_flush(e.st, (*C.uchar)(unsafe.Pointer(&out[0])), C.int(min(len(out), 1<<30)))
	return lameResult(r, len(out))
}

func lameResult(r C.int, outLen int) (int, error) {
	switch {
	case r == -1:
		return 0, fmt.Errorf("%w: LAME needs more than %d bytes", ErrBufferTooSmall, outLen)
	case r < 0:
		return 0, fmt.Errorf("codec: LAME encode failed (%d)", int(r))
	case int(r) > outLen: // cannot happen; never hand back bytes past out
		return 0, fmt.Errorf("codec: LAME wrote %d bytes into %d", int(r), outLen)
	}
	return int(r), nil
}

// Close frees the encoder. It is safe to call more than once.
func (e *MP3Encoder) Close() error {
	if e != nil && e.st != nil {
		e.cleanup.Stop()
		C.lame_close(e.st)
		e.st = nil
	}
	return nil
}
