package mp4

import "encoding/binary"

// boxBuf builds boxes in memory. A box is opened with start, which leaves
// room for the size, and closed with end, which patches the size in: nested
// boxes need no size arithmetic at the call site. The buffer is reused from
// fragment to fragment, so steady-state writing does not allocate.
type boxBuf struct {
	b []byte
}

func (w *boxBuf) reset() { w.b = w.b[:0] }

// start opens a box of the given four-character type and returns the offset
// that end needs.
func (w *boxBuf) start(typ string) int {
	off := len(w.b)
	w.b = append(w.b, 0, 0, 0, 0, typ[0], typ[1], typ[2], typ[3])
	return off
}

// startFull opens a full box (ISO/IEC 14496-12 §4.2): version and flags
// follow the type.
func (w *boxBuf) startFull(typ string, version uint8, flags uint32) int {
	off := w.start(typ)
	w.u32(uint32(version)<<24 | flags&0xffffff)
	return off
}

// end patches the size of the box opened at off. Boxes built here are far
// below 4 GiB (the mdat header is written separately).
func (w *boxBuf) end(off int) {
	binary.BigEndian.PutUint32(w.b[off:], uint32(len(w.b)-off))
}

func (w *boxBuf) u8(v uint8)   { w.b = append(w.b, v) }
func (w *boxBuf) u16(v uint16) { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *boxBuf) u32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *boxBuf) u64(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }
func (w *boxBuf) str(s string) { w.b = append(w.b, s...) }
func (w *boxBuf) bytes(p []byte) {
	w.b = append(w.b, p...)
}
func (w *boxBuf) zeros(n int) {
	for range n {
		w.b = append(w.b, 0)
	}
}

// matrix writes the identity transformation matrix of mvhd and tkhd.
func (w *boxBuf) matrix() {
	for _, v := range [9]uint32{0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000} {
		w.u32(v)
	}
}

// mdatHeader returns the header of an mdat holding n payload bytes: the
// 8-byte form, or the 16-byte largesize form beyond 4 GiB.
func mdatHeader(dst []byte, n int64) []byte {
	if n+8 <= 0xffffffff {
		dst = binary.BigEndian.AppendUint32(dst, uint32(n+8))
		return append(dst, "mdat"...)
	}
	dst = binary.BigEndian.AppendUint32(dst, 1)
	dst = append(dst, "mdat"...)
	return binary.BigEndian.AppendUint64(dst, uint64(n+16))
}
