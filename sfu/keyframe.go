package sfu

// Codec families the SFU forwards. H.264 is the room's video codec (RTMP,
// FLV and MP4 carry it untranscoded); VP8 is accepted from clients that offer
// nothing else.
const (
	MimeH264 = "video/H264"
	MimeVP8  = "video/VP8"
	MimeOpus = "audio/opus"
)

// isKeyframe reports whether an RTP payload starts a decodable picture.
func isKeyframe(mime string, payload []byte) bool {
	switch mime {
	case MimeH264:
		return h264Keyframe(payload)
	case MimeVP8:
		return vp8Keyframe(payload)
	}
	return false
}

// H.264 NAL unit types (RFC 6184).
const (
	naluIDR   = 5
	naluSPS   = 7
	naluSTAPA = 24
	naluFUA   = 28
)

// h264Keyframe: an IDR slice or SPS, alone, inside a STAP-A aggregate, or as
// the first fragment of an FU-A.
func h264Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case naluIDR, naluSPS:
		return true
	case naluSTAPA:
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			if size == 0 {
				return false
			}
			if nt := p[i+2] & 0x1f; nt == naluIDR || nt == naluSPS {
				return true
			}
			i += 2 + size
		}
	case naluFUA:
		return len(p) >= 2 && p[1]&0x80 != 0 && p[1]&0x1f == naluIDR
	}
	return false
}

// vp8Keyframe parses the VP8 payload descriptor (RFC 7741) and checks the
// P bit of the frame header on the first partition's first packet.
func vp8Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	x, s, pid := p[0]&0x80 != 0, p[0]&0x10 != 0, p[0]&0x07
	if !s || pid != 0 {
		return false
	}
	i := 1
	if x {
		if len(p) < 2 {
			return false
		}
		ext := p[1]
		i = 2
		if ext&0x80 != 0 { // I: picture id, 1 or 2 bytes
			if len(p) <= i {
				return false
			}
			if p[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if ext&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if ext&0x30 != 0 { // T or K: TID/KEYIDX byte
			i++
		}
	}
	return len(p) > i && p[i]&0x01 == 0
}
