package codec

import "time"

// OpusDuration is how much audio an Opus packet carries, read from its TOC
// byte (RFC 6716 §3.1): from 2.5 ms to 120 ms. A packet too short to say
// is taken as one 20 ms frame. Decoding costs per duration, not per packet,
// so paces that guard decoders count with it.
func OpusDuration(packet []byte) time.Duration {
	if len(packet) == 0 {
		return 20 * time.Millisecond
	}
	toc := packet[0]
	frames := 1
	switch toc & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(packet) < 2 {
			return 20 * time.Millisecond
		}
		frames = max(int(packet[1]&0x3f), 1)
	}
	return min(time.Duration(frames)*opusFrameLength(toc>>3), 120*time.Millisecond)
}

// opusFrameLength is the frame length of a TOC configuration number:
// SILK-only 10/20/40/60 ms, hybrid 10/20 ms, CELT-only 2.5/5/10/20 ms.
func opusFrameLength(config byte) time.Duration {
	switch {
	case config < 12:
		return [...]time.Duration{10, 20, 40, 60}[config%4] * time.Millisecond
	case config < 16:
		return [...]time.Duration{10, 20}[config%2] * time.Millisecond
	default:
		return [...]time.Duration{2500, 5000, 10000, 20000}[config%4] * time.Microsecond
	}
}
