//go:build cgo

package codec

/*
#include <string.h>

// GCC's generic vectors compile to SSE on amd64 and NEON on arm64: four
// multiply-adds per instruction, which Go's compiler does not emit. The
// accumulation order is not the Go kernel's, so sums may differ from it in
// the last bit of a float32.
typedef float trtcd_v4 __attribute__((vector_size(16)));

static inline trtcd_v4 trtcd_load4(const float *p) {
	trtcd_v4 v;
	memcpy(&v, p, sizeof v); // unaligned: planes advance one sample at a time
	return v;
}

static inline short trtcd_to_int16(float v) {
	v = v < -32768.0f ? -32768.0f : v > 32767.0f ? 32767.0f : v;
	return (short)((int)(v + 32768.5f) - 32768); // as toInt16 in polyphase.go
}

// The result comes back by value: Go variables passed by address to C
// escape to the heap, one allocation per call.
typedef struct { int frames, pos, phase; } trtcd_polyphase_result;

// trtcd_polyphase produces up to max_frames interleaved output frames of
// channels (1 or 2) planes holding buffered samples each, from the output
// instant (pos, phase) on; it returns the frames written and the next
// instant. taps is a multiple of 4.
static trtcd_polyphase_result trtcd_polyphase(const float *coef, int taps, int phases, int step,
		const float *left, const float *right, int channels, int buffered,
		int pos, int phase, short *out, int max_frames) {
	int n = 0;
	for (; n < max_frames && pos + taps <= buffered; n++) {
		const float *h = coef + phase * taps;
		trtcd_v4 l = {0}, r = {0};
		for (int k = 0; k < taps; k += 4) {
			trtcd_v4 hk = trtcd_load4(h + k);
			l += hk * trtcd_load4(left + pos + k);
			if (channels == 2) r += hk * trtcd_load4(right + pos + k);
		}
		out[n * channels] = trtcd_to_int16((l[0] + l[1]) + (l[2] + l[3]));
		if (channels == 2) out[n * 2 + 1] = trtcd_to_int16((r[0] + r[1]) + (r[2] + r[3]));
		phase += step;
		if (phase >= phases) { phase -= phases; pos++; }
	}
	trtcd_polyphase_result res = {n, pos, phase};
	return res;
}
*/
import "C"

import "unsafe"

func init() { polyphaseProduce = (*polyphaseResampler).produceSIMD }

// produceSIMD is produceGo in C, one call per Process step: a third of its
// CPU (BenchmarkResampler).
func (r *polyphaseResampler) produceSIMD(out []int16) int {
	frames := len(out) / r.channels
	if frames == 0 || !r.ready() {
		return 0
	}
	left, right := &r.planes[0][0], &r.planes[0][0]
	if r.channels == 2 {
		right = &r.planes[1][0]
	}
	res := C.trtcd_polyphase((*C.float)(unsafe.Pointer(&r.f.coef[0])), polyphaseTaps, C.int(r.f.phases), C.int(r.f.step),
		(*C.float)(unsafe.Pointer(left)), (*C.float)(unsafe.Pointer(right)), C.int(r.channels), C.int(r.buffered),
		C.int(r.pos), C.int(r.phase), (*C.short)(unsafe.Pointer(&out[0])), C.int(frames))
	r.pos, r.phase = int(res.pos), int(res.phase)
	return int(res.frames)
}
