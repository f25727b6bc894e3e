package mp4

// The sample tables of a progressive file (ISO/IEC 14496-12 §8.6-8.7),
// built from the samples a scan found. Runs are merged wherever the format
// allows, so a steady stream costs a few bytes per table, not per sample.

// progressiveTables writes stts, stss, ctts, stsc, stsz and stco/co64 for
// track ti; chunkOffs are the output offsets of the file's chunks (all
// tracks, in file order).
func progressiveTables(b *boxBuf, ff *fragFile, ti int, chunkOffs []int64, co64 bool) {
	t := ff.tracks[ti]
	s := t.samples

	stts := b.startFull("stts", 0, 0)
	n := len(b.b)
	b.u32(0)
	entries := uint32(0)
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j].dur == s[i].dur {
			j++
		}
		b.u32(uint32(j - i))
		b.u32(s[i].dur)
		entries++
		i = j
	}
	putU32(b.b[n:], entries)
	b.end(stts)

	if t.video {
		syncs := 0
		for _, x := range s {
			if x.sync {
				syncs++
			}
		}
		if syncs < len(s) { // without stss every sample is a sync sample
			stss := b.startFull("stss", 0, 0)
			b.u32(uint32(syncs))
			for i, x := range s {
				if x.sync {
					b.u32(uint32(i + 1))
				}
			}
			b.end(stss)
		}
	}

	hasCto, negCto := false, false
	for _, x := range s {
		hasCto = hasCto || x.cto != 0
		negCto = negCto || x.cto < 0
	}
	if hasCto {
		v := uint8(0)
		if negCto {
			v = 1 // signed offsets
		}
		ctts := b.startFull("ctts", v, 0)
		n := len(b.b)
		b.u32(0)
		entries := uint32(0)
		for i := 0; i < len(s); {
			j := i + 1
			for j < len(s) && s[j].cto == s[i].cto {
				j++
			}
			b.u32(uint32(j - i))
			b.u32(uint32(s[i].cto))
			entries++
			i = j
		}
		putU32(b.b[n:], entries)
		b.end(ctts)
	}

	stsc := b.startFull("stsc", 0, 0)
	n = len(b.b)
	b.u32(0)
	entries, chunkNo, last := 0, uint32(0), -1
	var offs []int64
	for ci, c := range ff.chunks {
		if c.track != ti {
			continue
		}
		chunkNo++
		offs = append(offs, chunkOffs[ci])
		if c.n != last {
			b.u32(chunkNo)
			b.u32(uint32(c.n))
			b.u32(1) // sample_description_index
			entries++
			last = c.n
		}
	}
	putU32(b.b[n:], uint32(entries))
	b.end(stsc)

	stsz := b.startFull("stsz", 0, 0)
	same := true
	for _, x := range s {
		same = same && x.size == s[0].size
	}
	if same && len(s) > 0 {
		b.u32(s[0].size)
		b.u32(uint32(len(s)))
	} else {
		b.u32(0)
		b.u32(uint32(len(s)))
		for _, x := range s {
			b.u32(x.size)
		}
	}
	b.end(stsz)

	if co64 {
		co := b.startFull("co64", 0, 0)
		b.u32(uint32(len(offs)))
		for _, o := range offs {
			b.u64(uint64(o))
		}
		b.end(co)
	} else {
		co := b.startFull("stco", 0, 0)
		b.u32(uint32(len(offs)))
		for _, o := range offs {
			b.u32(uint32(o))
		}
		b.end(co)
	}
}

func putU32(p []byte, v uint32) {
	p[0], p[1], p[2], p[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}
