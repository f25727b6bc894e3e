package mp4

import "testing"

// testOpus is 10 s of a 440 Hz tone as Opus packets, pulled out of Ogg.
func testOpus(t testing.TB) testAudio {
	requireFFmpeg(t)
	ogg := runFFmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "10",
		"-c:a", "libopus", "-b:a", "48k", "-f", "ogg", "-")
	a := testAudio{track: OpusTrack(1)}
	for i, p := range oggPackets(t, ogg) {
		if i < 2 { // OpusHead, OpusTags
			continue
		}
		a.frames = append(a.frames, p)
		a.durs = append(a.durs, int(opusSamples(p)))
	}
	return a
}

// oggPackets joins the lacing segments of every page into packets
// (RFC 3533 §6).
func oggPackets(t testing.TB, b []byte) [][]byte {
	var packets [][]byte
	var cur []byte
	for len(b) > 0 {
		if len(b) < 27 || string(b[:4]) != "OggS" {
			t.Fatal("bad Ogg page")
		}
		nseg := int(b[26])
		segs := b[27 : 27+nseg]
		body := b[27+nseg:]
		for _, l := range segs {
			cur = append(cur, body[:l]...)
			body = body[l:]
			if l < 255 {
				packets = append(packets, cur)
				cur = nil
			}
		}
		b = body
	}
	return packets
}
