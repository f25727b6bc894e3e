package main

// A tiny H.264 encoder for a test pattern, so the example needs no video
// file and no encoder: every macroblock it sends is I_PCM (raw samples, no
// prediction, no transform), and every macroblock that did not change since
// the last frame is P_Skip. The result is a real, decodable Constrained
// Baseline stream (any player, ffprobe and browsers show it) of colour bars
// with a square that moves across them. Keyframes are large (raw pixels),
// delta frames small (only the macroblocks the square touched).

// pattern renders frames and encodes them as Annex B access units.
type pattern struct {
	w, h    int    // pixels, multiples of 16
	y, u, v []byte // the frame being drawn (4:2:0)
	py      []byte // the previous frame's luma, to find changed macroblocks
	pu, pv  []byte
	frame   int // frames since the last keyframe (H.264 frame_num)
	idrID   int
}

func newPattern(w, h int) *pattern {
	w, h = (w+15)/16*16, (h+15)/16*16
	return &pattern{
		w: w, h: h,
		y: make([]byte, w*h), u: make([]byte, w*h/4), v: make([]byte, w*h/4),
		py: make([]byte, w*h), pu: make([]byte, w*h/4), pv: make([]byte, w*h/4),
	}
}

// bars are BT.601 limited-range colour bars (Y, Cb, Cr): white, yellow,
// cyan, green, magenta, red, blue, black. No sample is ever 0, so raw
// samples never form a start code.
var bars = [][3]byte{
	{235, 128, 128}, {210, 16, 146}, {170, 166, 16}, {145, 54, 34},
	{106, 202, 222}, {81, 90, 240}, {41, 240, 110}, {16, 128, 128},
}

// draw renders frame n: the bars, a white square bouncing left and right,
// and a strip at the bottom that fills once a second (at fps).
func (p *pattern) draw(n, fps int) {
	side := p.h / 6
	travel := p.w - side
	x0 := (n * 4) % (2 * travel)
	if x0 > travel {
		x0 = 2*travel - x0
	}
	y0 := (p.h - side) / 2
	strip := p.h - p.h/8
	filled := p.w * (n%fps + 1) / fps
	for y := 0; y < p.h; y++ {
		for x := 0; x < p.w; x++ {
			c := bars[x*len(bars)/p.w]
			switch {
			case x >= x0 && x < x0+side && y >= y0 && y < y0+side:
				c = [3]byte{235, 128, 128}
			case y >= strip && x < filled:
				c = [3]byte{128, 128, 128}
			case y >= strip:
				c = [3]byte{16, 128, 128}
			}
			p.y[y*p.w+x] = c[0]
			if x%2 == 0 && y%2 == 0 {
				p.u[y/2*p.w/2+x/2], p.v[y/2*p.w/2+x/2] = c[1], c[2]
			}
		}
	}
}

// next draws frame n and returns it as an access unit: SPS, PPS and an IDR
// picture when key is true, else a P picture of the changed macroblocks.
func (p *pattern) next(n, fps int, key bool) []byte {
	p.draw(n, fps)
	var au []byte
	if key {
		p.frame = 0
		au = appendNAL(au, p.sps())
		au = appendNAL(au, pps())
		au = appendNAL(au, p.slice(true))
		p.idrID = (p.idrID + 1) % 2 // consecutive IDRs need different ids
	} else {
		p.frame++
		au = appendNAL(au, p.slice(false))
	}
	copy(p.py, p.y)
	copy(p.pu, p.u)
	copy(p.pv, p.v)
	return au
}

// The SPS: Constrained Baseline (profile-level-id 42e01f in SDP terms),
// 4-bit frame_num, POC type 2 (output order = decoding order), one
// reference frame.
func (p *pattern) sps() []byte {
	var b bitWriter
	b.u(8, 0x67)           // NAL header: nal_ref_idc 3, type 7
	b.u(8, 66)             // profile_idc: Baseline
	b.u(8, 0xe0)           // constraint_set0..2 flags
	b.u(8, 31)             // level_idc 3.1
	b.ue(0)                // seq_parameter_set_id
	b.ue(0)                // log2_max_frame_num_minus4
	b.ue(2)                // pic_order_cnt_type
	b.ue(1)                // max_num_ref_frames
	b.u(1, 0)              // gaps_in_frame_num_value_allowed_flag
	b.ue(uint(p.w/16 - 1)) // pic_width_in_mbs_minus1
	b.ue(uint(p.h/16 - 1)) // pic_height_in_map_units_minus1
	b.u(1, 1)              // frame_mbs_only_flag
	b.u(1, 1)              // direct_8x8_inference_flag
	b.u(1, 0)              // frame_cropping_flag
	b.u(1, 0)              // vui_parameters_present_flag
	return b.trailing()
}

func pps() []byte {
	var b bitWriter
	b.u(8, 0x68) // NAL header: nal_ref_idc 3, type 8
	b.ue(0)      // pic_parameter_set_id
	b.ue(0)      // seq_parameter_set_id
	b.u(1, 0)    // entropy_coding_mode_flag: CAVLC
	b.u(1, 0)    // bottom_field_pic_order_in_frame_present_flag
	b.ue(0)      // num_slice_groups_minus1
	b.ue(0)      // num_ref_idx_l0_default_active_minus1
	b.ue(0)      // num_ref_idx_l1_default_active_minus1
	b.u(1, 0)    // weighted_pred_flag
	b.u(2, 0)    // weighted_bipred_idc
	b.se(0)      // pic_init_qp_minus26
	b.se(0)      // pic_init_qs_minus26
	b.se(0)      // chroma_qp_index_offset
	b.u(1, 0)    // deblocking_filter_control_present_flag
	b.u(1, 0)    // constrained_intra_pred_flag
	b.u(1, 0)    // redundant_pic_cnt_present_flag
	return b.trailing()
}

// slice encodes the whole picture as one slice.
func (p *pattern) slice(idr bool) []byte {
	var b bitWriter
	if idr {
		b.u(8, 0x65) // nal_ref_idc 3, type 5 (IDR)
		b.ue(0)      // first_mb_in_slice
		b.ue(7)      // slice_type: I (all slices)
		b.ue(0)      // pic_parameter_set_id
		b.u(4, 0)    // frame_num
		b.ue(uint(p.idrID))
		b.u(1, 0) // no_output_of_prior_pics_flag
		b.u(1, 0) // long_term_reference_flag
		b.se(0)   // slice_qp_delta
	} else {
		b.u(8, 0x41)               // nal_ref_idc 2, type 1 (non-IDR)
		b.ue(0)                    // first_mb_in_slice
		b.ue(5)                    // slice_type: P (all slices)
		b.ue(0)                    // pic_parameter_set_id
		b.u(4, uint64(p.frame%16)) // frame_num
		b.u(1, 0)                  // num_ref_idx_active_override_flag
		b.u(1, 0)                  // ref_pic_list_modification_flag_l0
		b.u(1, 0)                  // adaptive_ref_pic_marking_mode_flag
		b.se(0)                    // slice_qp_delta
	}
	skipped := 0
	for my := 0; my < p.h/16; my++ {
		for mx := 0; mx < p.w/16; mx++ {
			if !idr && !p.changed(mx, my) {
				skipped++
				continue
			}
			if idr {
				b.ue(25) // mb_type I_PCM in an I slice
			} else {
				b.ue(uint(skipped)) // mb_skip_run
				skipped = 0
				b.ue(5 + 25) // mb_type I_PCM in a P slice
			}
			for b.n != 0 {
				b.u(1, 0) // pcm_alignment_zero_bit
			}
			for y := 0; y < 16; y++ {
				b.bytes(p.y[(my*16+y)*p.w+mx*16:][:16])
			}
			for _, c := range [][]byte{p.u, p.v} {
				for y := 0; y < 8; y++ {
					b.bytes(c[(my*8+y)*p.w/2+mx*8:][:8])
				}
			}
		}
	}
	if skipped > 0 {
		b.ue(uint(skipped)) // the rest of the picture is skipped
	}
	return b.trailing()
}

// changed reports whether macroblock (mx, my) differs from the last frame.
func (p *pattern) changed(mx, my int) bool {
	for y := 0; y < 16; y++ {
		o := (my*16+y)*p.w + mx*16
		if string(p.y[o:o+16]) != string(p.py[o:o+16]) {
			return true
		}
	}
	for y := 0; y < 8; y++ {
		o := (my*8+y)*p.w/2 + mx*8
		if string(p.u[o:o+8]) != string(p.pu[o:o+8]) || string(p.v[o:o+8]) != string(p.pv[o:o+8]) {
			return true
		}
	}
	return false
}

// appendNAL adds a start code and the NAL unit with emulation prevention:
// an 0x03 after any two zero bytes that a byte of 0–3 follows.
func appendNAL(out, nal []byte) []byte {
	out = append(out, 0, 0, 0, 1)
	zeros := 0
	for _, c := range nal {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// bitWriter writes the big-endian bit fields and Exp-Golomb codes of H.264.
type bitWriter struct {
	buf []byte
	cur byte
	n   int // bits in cur
}

func (b *bitWriter) u(bits int, v uint64) {
	for i := bits - 1; i >= 0; i-- {
		b.cur = b.cur<<1 | byte(v>>i&1)
		if b.n++; b.n == 8 {
			b.buf = append(b.buf, b.cur)
			b.cur, b.n = 0, 0
		}
	}
}

// ue is unsigned Exp-Golomb: as many zeros as v+1 has bits after the
// first, then v+1.
func (b *bitWriter) ue(v uint) {
	v++
	bits := 0
	for x := v; x > 1; x >>= 1 {
		bits++
	}
	b.u(bits, 0)
	b.u(bits+1, uint64(v))
}

// se is signed Exp-Golomb.
func (b *bitWriter) se(v int) {
	if v > 0 {
		b.ue(uint(2*v - 1))
	} else {
		b.ue(uint(-2 * v))
	}
}

// bytes writes whole bytes at a byte boundary.
func (b *bitWriter) bytes(p []byte) { b.buf = append(b.buf, p...) }

// trailing ends the RBSP: a one bit, then zeros to the byte boundary.
func (b *bitWriter) trailing() []byte {
	b.u(1, 1)
	for b.n != 0 {
		b.u(1, 0)
	}
	return b.buf
}
