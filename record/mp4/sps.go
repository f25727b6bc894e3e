package mp4

import "errors"

// spsInfo is what the sample entry needs from an H.264 sequence parameter
// set (ITU-T H.264 §7.3.2.1.1).
type spsInfo struct {
	profile, constraints, level uint8
	chromaFormat                uint32 // 1 = 4:2:0 unless the profile says otherwise
	bitDepthLuma, bitDepthChrom uint32 // minus 8
	width, height               int    // after frame cropping
}

var errSPS = errors.New("mp4: cannot parse SPS")

// highProfile reports the profiles whose SPS carries chroma format, bit
// depth and scaling matrices (§7.3.2.1.1, the profile_idc list).
func highProfile(p uint8) bool {
	switch p {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		return true
	}
	return false
}

// parseSPS reads an SPS NAL unit, header byte included.
func parseSPS(nal []byte) (spsInfo, error) {
	var s spsInfo
	if len(nal) < 4 || nal[0]&0x1f != 7 {
		return s, errSPS
	}
	s.profile, s.constraints, s.level = nal[1], nal[2], nal[3]
	r := bitReader{b: unescapeRBSP(nal[4:])}
	r.ue() // seq_parameter_set_id
	s.chromaFormat = 1
	separateColourPlane := false
	if highProfile(s.profile) {
		s.chromaFormat = r.ue()
		if s.chromaFormat == 3 {
			separateColourPlane = r.bit() == 1
		}
		s.bitDepthLuma = r.ue()
		s.bitDepthChrom = r.ue()
		r.bit() // qpprime_y_zero_transform_bypass_flag
		// seq_scaling_matrix_present_flag
		if r.bit() == 1 {
			n := 8
			if s.chromaFormat == 3 {
				n = 12
			}
			for i := range n {
				if r.bit() == 1 {
					size := 16
					if i >= 6 {
						size = 64
					}
					skipScalingList(&r, size)
				}
			}
		}
	}
	r.ue()          // log2_max_frame_num_minus4
	switch r.ue() { // pic_order_cnt_type
	case 0:
		r.ue() // log2_max_pic_order_cnt_lsb_minus4
	case 1:
		r.bit() // delta_pic_order_always_zero_flag
		r.se()  // offset_for_non_ref_pic
		r.se()  // offset_for_top_to_bottom_field
		n := r.ue()
		for i := uint32(0); i < n && r.err == nil; i++ {
			r.se()
		}
	}
	r.ue()  // max_num_ref_frames
	r.bit() // gaps_in_frame_num_value_allowed_flag
	widthMBs := r.ue() + 1
	heightMapUnits := r.ue() + 1
	frameMBsOnly := r.bit()
	if frameMBsOnly == 0 {
		r.bit() // mb_adaptive_frame_field_flag
	}
	r.bit() // direct_8x8_inference_flag
	var cropL, cropR, cropT, cropB uint32
	if r.bit() == 1 {
		cropL, cropR, cropT, cropB = r.ue(), r.ue(), r.ue(), r.ue()
	}
	if r.err != nil || widthMBs > 1<<12 || heightMapUnits > 1<<12 {
		return s, errSPS
	}
	// Crop units (§7.4.2.1.1, Table 6-1): chroma subsampling decides how
	// many luma samples one crop unit is; field coding doubles the height.
	cropX, cropY := uint32(1), 2-frameMBsOnly
	if !separateColourPlane && s.chromaFormat != 0 {
		subW, subH := uint32(1), uint32(1)
		if s.chromaFormat == 1 || s.chromaFormat == 2 {
			subW = 2
		}
		if s.chromaFormat == 1 {
			subH = 2
		}
		cropX, cropY = subW, subH*(2-frameMBsOnly)
	}
	w := int64(widthMBs)*16 - int64(cropX)*(int64(cropL)+int64(cropR))
	h := int64(2-frameMBsOnly)*int64(heightMapUnits)*16 - int64(cropY)*(int64(cropT)+int64(cropB))
	if w <= 0 || h <= 0 {
		return s, errSPS
	}
	s.width, s.height = int(w), int(h)
	return s, nil
}

func skipScalingList(r *bitReader, size int) {
	last, next := int32(8), int32(8)
	for range size {
		if next != 0 {
			next = (last + r.se() + 256) % 256
		}
		if next != 0 {
			last = next
		}
	}
}

// unescapeRBSP removes emulation prevention bytes (00 00 03 → 00 00).
func unescapeRBSP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

// bitReader reads big-endian bits and exp-Golomb codes. Reading past the end
// sets err and yields zeros, so parsers check once at the end.
type bitReader struct {
	b   []byte
	pos int // in bits
	err error
}

func (r *bitReader) bit() uint32 {
	if r.pos >= len(r.b)*8 {
		r.err = errSPS
		return 0
	}
	v := r.b[r.pos/8] >> (7 - r.pos%8) & 1
	r.pos++
	return uint32(v)
}

// ue reads an unsigned exp-Golomb code (§9.1). More than 31 leading zeros
// cannot come from a valid SPS.
func (r *bitReader) ue() uint32 {
	zeros := 0
	for r.bit() == 0 {
		if r.err != nil || zeros == 31 {
			r.err = errSPS
			return 0
		}
		zeros++
	}
	v := uint32(0)
	for range zeros {
		v = v<<1 | r.bit()
	}
	return v + (1 << zeros) - 1
}

// se reads a signed exp-Golomb code: 1, -1, 2, -2, …
func (r *bitReader) se() int32 {
	v := r.ue()
	if v&1 == 1 {
		return int32(v/2 + 1)
	}
	return -int32(v / 2)
}
