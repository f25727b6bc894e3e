package mp4

// The parts of the moov shared by the fragmented file (empty sample tables
// plus mvex) and the progressive one (full sample tables plus edit lists).

// movieTimescale is the mvhd/tkhd/elst clock: milliseconds are precise
// enough for durations and edits, and 32 bits of them last 49 days.
const movieTimescale = 1000

// trakHeader is what a trak needs besides its sample table.
type trakHeader struct {
	id            uint32
	video         bool
	timescale     uint32
	duration      uint64 // mdhd, in timescale
	movieDuration uint64 // tkhd, in movieTimescale (edits included)
	width, height int
	edits         []edit // none: the track starts at the movie's start
}

// edit is one elst entry; mediaTime -1 is an empty edit (a pause before a
// track that starts late).
type edit struct {
	duration  uint64 // in movieTimescale
	mediaTime int64  // in the track's timescale
}

func writeFtyp(b *boxBuf, fragmented bool) {
	f := b.start("ftyp")
	b.str("isom")
	b.u32(0x200)
	b.str("isomiso2avc1mp41")
	if fragmented {
		b.str("iso6") // movie fragments with tfdt
	}
	b.end(f)
}

func writeMvhd(b *boxBuf, duration uint64, nextTrackID uint32) {
	m := b.startFull("mvhd", 0, 0)
	b.u32(0) // creation_time: unknown; the index keeps real times
	b.u32(0) // modification_time
	b.u32(movieTimescale)
	b.u32(uint32(duration))
	b.u32(0x00010000) // rate 1.0
	b.u16(0x0100)     // volume 1.0
	b.zeros(10)
	b.matrix()
	b.zeros(24) // pre_defined
	b.u32(nextTrackID)
	b.end(m)
}

// writeTrak writes a trak; stbl writes the sample table's boxes after
// the stsd box (which both variants take as ready bytes).
func writeTrak(b *boxBuf, h trakHeader, stsd []byte, stbl func(*boxBuf)) {
	trak := b.start("trak")

	tkhd := b.startFull("tkhd", 0, 3) // enabled, in movie
	b.u32(0)
	b.u32(0)
	b.u32(h.id)
	b.u32(0)
	b.u32(uint32(h.movieDuration))
	b.zeros(8)
	b.u16(0) // layer
	b.u16(0) // alternate_group
	if h.video {
		b.u16(0)
	} else {
		b.u16(0x0100) // volume 1.0
	}
	b.u16(0)
	b.matrix()
	b.u32(uint32(h.width) << 16)
	b.u32(uint32(h.height) << 16)
	b.end(tkhd)

	if len(h.edits) > 0 {
		edts := b.start("edts")
		elst := b.startFull("elst", 0, 0)
		b.u32(uint32(len(h.edits)))
		for _, e := range h.edits {
			b.u32(uint32(e.duration))
			b.u32(uint32(int32(e.mediaTime)))
			b.u32(0x00010000) // media_rate 1.0
		}
		b.end(elst)
		b.end(edts)
	}

	mdia := b.start("mdia")
	v := uint8(0)
	if h.duration > 0xffffffff { // 90 kHz overflows 32 bits after 13 hours
		v = 1
	}
	mdhd := b.startFull("mdhd", v, 0)
	if v == 1 {
		b.u64(0)
		b.u64(0)
		b.u32(h.timescale)
		b.u64(h.duration)
	} else {
		b.u32(0)
		b.u32(0)
		b.u32(h.timescale)
		b.u32(uint32(h.duration))
	}
	b.u16(0x55c4) // language "und"
	b.u16(0)
	b.end(mdhd)

	hdlr := b.startFull("hdlr", 0, 0)
	b.u32(0)
	if h.video {
		b.str("vide")
	} else {
		b.str("soun")
	}
	b.zeros(12)
	if h.video {
		b.str("VideoHandler\x00")
	} else {
		b.str("SoundHandler\x00")
	}
	b.end(hdlr)

	minf := b.start("minf")
	if h.video {
		vmhd := b.startFull("vmhd", 0, 1)
		b.zeros(8) // graphicsmode, opcolor
		b.end(vmhd)
	} else {
		smhd := b.startFull("smhd", 0, 0)
		b.zeros(4) // balance, reserved
		b.end(smhd)
	}
	dinf := b.start("dinf")
	dref := b.startFull("dref", 0, 0)
	b.u32(1)
	url := b.startFull("url ", 0, 1) // media in this file
	b.end(url)
	b.end(dref)
	b.end(dinf)

	st := b.start("stbl")
	b.bytes(stsd)
	stbl(b)
	b.end(st)

	b.end(minf)
	b.end(mdia)
	b.end(trak)
}

// writeEmptyTables writes the sample tables of a fragmented file's moov:
// present, as the format requires, and empty, since samples live in moofs.
func writeEmptyTables(b *boxBuf) {
	for _, typ := range []string{"stts", "stsc", "stco"} {
		x := b.startFull(typ, 0, 0)
		b.u32(0)
		b.end(x)
	}
	x := b.startFull("stsz", 0, 0)
	b.u32(0) // sample_size
	b.u32(0) // sample_count
	b.end(x)
}

// writeMvex announces movie fragments, with trex defaults that every trun
// overrides.
func writeMvex(b *boxBuf, ids []uint32) {
	mvex := b.start("mvex")
	for _, id := range ids {
		trex := b.startFull("trex", 0, 0)
		b.u32(id)
		b.u32(1) // default_sample_description_index
		b.u32(0)
		b.u32(0)
		b.u32(0)
		b.end(trex)
	}
	b.end(mvex)
}
