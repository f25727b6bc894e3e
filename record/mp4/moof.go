package mp4

import "encoding/binary"

// Sample flags (ISO/IEC 14496-12 §8.8.3.1): a sync sample depends on no
// other sample; any other sample depends on others and is not a sync point.
const (
	syncSampleFlags    = 0x02000000
	nonSyncSampleFlags = 0x01010000
)

// trun flags (§8.8.8.1).
const (
	trunDataOffset    = 0x000001
	trunDuration      = 0x000100
	trunSize          = 0x000200
	trunFlags         = 0x000400
	trunCompOffset    = 0x000800
	tfhdDefaultIsMoof = 0x020000 // data offsets count from the moof's first byte
)

// encodeFragment appends moof+mdat for the pending samples to fw.buf.
// Each track with samples gets one traf whose tfdt is the absolute decode
// time of its first sample; its trun lists every sample, so nothing relies
// on trex defaults. The mdat holds the tracks' data one after the other.
func (fw *FragmentWriter) encodeFragment() {
	b := &fw.buf
	fw.dataOffs = fw.dataOffs[:0]
	moof := b.start("moof")
	mfhd := b.startFull("mfhd", 0, 0)
	b.u32(fw.seq)
	b.end(mfhd)
	for _, t := range fw.tracks {
		if len(t.samples) == 0 {
			continue
		}
		traf := b.start("traf")
		tfhd := b.startFull("tfhd", 0, tfhdDefaultIsMoof)
		b.u32(t.id)
		b.end(tfhd)
		tfdt := b.startFull("tfdt", 1, 0)
		b.u64(uint64(t.samples[0].dts))
		b.end(tfdt)

		flags := uint32(trunDataOffset | trunDuration | trunSize | trunFlags)
		version := uint8(0)
		for _, s := range t.samples {
			if s.cto != 0 {
				// Version 1: signed offsets, so a stream whose first
				// frame has pts < dts needs no edit list.
				flags |= trunCompOffset
				version = 1
				break
			}
		}
		trun := b.startFull("trun", version, flags)
		b.u32(uint32(len(t.samples)))
		fw.dataOffs = append(fw.dataOffs, len(b.b))
		b.u32(0) // data_offset, patched below
		for _, s := range t.samples {
			b.u32(s.dur)
			b.u32(s.size)
			if s.sync {
				b.u32(syncSampleFlags)
			} else {
				b.u32(nonSyncSampleFlags)
			}
			if flags&trunCompOffset != 0 {
				b.u32(uint32(s.cto))
			}
		}
		b.end(trun)
		b.end(traf)
	}
	b.end(moof)

	var payload int64
	for _, t := range fw.tracks {
		payload += int64(len(t.data))
	}
	b.b = mdatHeader(b.b, payload)
	off := len(b.b) // the moof starts at 0
	i := 0
	for _, t := range fw.tracks {
		if len(t.samples) == 0 {
			continue
		}
		binary.BigEndian.PutUint32(b.b[fw.dataOffs[i]:], uint32(off))
		off += len(t.data)
		i++
	}
	for _, t := range fw.tracks {
		b.b = append(b.b, t.data...)
	}
}
