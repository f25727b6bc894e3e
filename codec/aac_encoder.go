//go:build cgo

package codec

/*
#include <stdlib.h>
#include <string.h>
#include <vo-aacenc/voAAC.h>
#include <vo-aacenc/cmnMemory.h>

// One AAC frame is at most 6144 bits per channel; vo-aacenc writes into this
// C buffer and Go copies out after checking the caller's slice.
#define TRTCD_AACENC_OUT 2048

typedef struct {
	VO_AUDIO_CODECAPI api;
	VO_HANDLE h;
	VO_MEM_OPERATOR mem;
	VO_CODEC_INIT_USERDATA user;
	VO_U32 err; // of the last encode, here rather than in a Go variable, which would escape
	unsigned char out[TRTCD_AACENC_OUT];
} trtcd_aacenc;

static trtcd_aacenc *trtcd_aacenc_open(int rate, int channels, int bitrate, unsigned int *err) {
	trtcd_aacenc *e = calloc(1, sizeof *e);
	if (e == NULL) { *err = 1; return NULL; }
	voGetAACEncAPI(&e->api);
	e->mem.Alloc = cmnMemAlloc;
	e->mem.Copy = cmnMemCopy;
	e->mem.Free = cmnMemFree;
	e->mem.Set = cmnMemSet;
	e->mem.Check = cmnMemCheck;
	e->mem.Compare = cmnMemCompare;
	e->mem.Move = cmnMemMove;
	e->user.memflag = VO_IMF_USERMEMOPERATOR;
	e->user.memData = &e->mem;
	*err = e->api.Init(&e->h, VO_AUDIO_CodingAAC, &e->user);
	if (*err != VO_ERR_NONE) { free(e); return NULL; }
	AACENC_PARAM p;
	memset(&p, 0, sizeof p);
	p.sampleRate = rate;
	p.bitRate = bitrate;
	p.nChannels = channels;
	p.adtsUsed = 0; // raw frames: RTMP/FLV and MP4 carry the config separately
	*err = e->api.SetParam(e->h, VO_PID_AAC_ENCPARAM, &p);
	if (*err != VO_ERR_NONE) { e->api.Uninit(e->h); free(e); return NULL; }
	return e;
}

// Input and output in one call: vo-aacenc keeps the input pointer between
// SetInputData and GetOutputData, and a Go pointer must not outlive the call.
static int trtcd_aacenc_encode(trtcd_aacenc *e, short *pcm, int nsamples) {
	VO_CODECBUFFER in, out;
	VO_AUDIO_OUTPUTINFO info;
	memset(&in, 0, sizeof in);
	memset(&out, 0, sizeof out);
	memset(&info, 0, sizeof info);
	in.Buffer = (VO_PBYTE)pcm;
	in.Length = nsamples * sizeof(short);
	e->err = e->api.SetInputData(e->h, &in);
	if (e->err != VO_ERR_NONE) return -1;
	out.Buffer = e->out;
	out.Length = TRTCD_AACENC_OUT;
	e->err = e->api.GetOutputData(e->h, &out, &info);
	if (e->err != VO_ERR_NONE) return -1;
	if (out.Length > TRTCD_AACENC_OUT) return -2;
	return (int)out.Length;
}

static void trtcd_aacenc_close(trtcd_aacenc *e) {
	e->api.Uninit(e->h);
	free(e);
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// AACEncoder encodes interleaved 16-bit PCM to raw AAC-LC frames (no ADTS).
type AACEncoder struct {
	st       *C.trtcd_aacenc
	cleanup  runtime.Cleanup
	channels int
	asc      []byte
}

// NewAACEncoder creates an AAC-LC encoder; sampleRate must be one of the
// MPEG-4 indexed rates (8000-96000; 44100 and 48000 in practice), channels 1
// or 2, bitrate in bit/s.
func NewAACEncoder(sampleRate, channels, bitrate int) (*AACEncoder, error) {
	asc := makeASC(sampleRate, channels)
	if asc == nil || sampleRate > 48000 || channels < 1 || channels > 2 || bitrate < 8000 || bitrate > 320000 {
		return nil, fmt.Errorf("%w: AAC encoder %d Hz, %d channels, %d bit/s", ErrInvalidArgument, sampleRate, channels, bitrate)
	}
	var cerr C.uint
	st := C.trtcd_aacenc_open(C.int(sampleRate), C.int(channels), C.int(bitrate), &cerr)
	if st == nil {
		return nil, fmt.Errorf("codec: vo-aacenc init (%d Hz, %d channels, %d bit/s): error %#x", sampleRate, channels, bitrate, uint(cerr))
	}
	e := &AACEncoder{st: st, channels: channels, asc: asc}
	e.cleanup = runtime.AddCleanup(e, func(st *C.trtcd_aacenc) { C.trtcd_aacenc_close(st) }, st)
	return e, nil
}

// AudioSpecificConfig is the 2-byte config for the RTMP sequence header or
// the MP4 esds box. The slice is shared: do not modify it.
func (e *AACEncoder) AudioSpecificConfig() []byte { return e.asc }

// FrameSamples is the samples per channel Encode takes: 1024.
func (e *AACEncoder) FrameSamples() int { return AACFrameSamples }

// Encode encodes exactly FrameSamples()*channels interleaved samples and
// returns the length of the raw AAC frame written to out (768 bytes per
// channel always suffice).
func (e *AACEncoder) Encode(pcm []int16, out []byte) (int, error) {
	if e.st == nil {
		return 0, ErrClosed
	}
	if len(pcm) != AACFrameSamples*e.channels {
		return 0, fmt.Errorf("%w: AAC encode needs %d samples, got %d", ErrInvalidArgument, AACFrameSamples*e.channels, len(pcm))
	}
	n := int(C.trtcd_aacenc_encode(e.st, (*C.short)(unsafe.Pointer(&pcm[0])), C.int(len(pcm))))
	if n < 0 {
		return 0, fmt.Errorf("codec: vo-aacenc encode: error %#x", uint(e.st.err))
	}
	if n > len(out) {
		return 0, fmt.Errorf("%w: AAC frame of %d bytes, %d given", ErrBufferTooSmall, n, len(out))
	}
	return copy(out, unsafe.Slice((*byte)(unsafe.Pointer(&e.st.out[0])), n)), nil
}

// Close frees the encoder. It is safe to call more than once.
func (e *AACEncoder) Close() error {
	if e != nil && e.st != nil {
		e.cleanup.Stop()
		C.trtcd_aacenc_close(e.st)
		e.st = nil
	}
	return nil
}
