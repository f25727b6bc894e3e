package bench

import (
	"math/rand/v2"
	"time"
)

// rawFrames are the RTP payloads a raw publisher sends, built once per run
// and shared read-only by every publisher: an H.264 keyframe, a delta frame
// and an Opus frame. Each packet is copied out to be stamped and encrypted.
// The sizes follow the pion engine's source (internal/peer): a GOP of two
// seconds in which a keyframe weighs five delta frames.
type rawFrames struct {
	keyframe, delta [][]byte
	audio           []byte
	frameInterval   time.Duration
	frameTicks      uint32 // 90 kHz clock per frame
}

const (
	// rawMaxPayload keeps a datagram (RTP, SRTP tag, IP, UDP) under 1,280
	// bytes, the smallest MTU any path has.
	rawMaxPayload = 1150
	// keyframeWeight: a keyframe is as large as this many delta frames.
	rawKeyframeWeight = 5
	// rawKeyframeEvery is the GOP, as an encoder's keyframe interval.
	rawKeyframeEvery = 2 * time.Second
	// rawAudioInterval is an Opus frame's duration; 960 ticks at 48 kHz.
	rawAudioInterval = 20 * time.Millisecond
	rawAudioTicks    = 960
	// rawAudioFrame is 32 kbps Opus in 20 ms frames.
	rawAudioFrame = 80
	// rawStampFUA is where the send time goes in the payload of an FU-A's
	// first fragment, after its two header bytes; in a single NAL unit or an
	// Opus frame it goes after the first byte (peer.Stamped reads all three).
	rawStampFUA = 2
)

// The parameter sets of constrained baseline 3.1, as the pion engine sends.
var (
	rawSPS = []byte{0x67, 0x42, 0xe0, 0x1f, 0xda}
	rawPPS = []byte{0x68, 0xce, 0x3c, 0x80}
)

func newRawFrames(bitrateKbps, fps int) *rawFrames {
	gop := int(rawKeyframeEvery.Seconds()) * fps
	perGOP := bitrateKbps * 1000 / 8 * gop / fps
	delta := max(perGOP/(gop-1+rawKeyframeWeight), 16)
	f := &rawFrames{frameInterval: time.Second / time.Duration(fps), frameTicks: uint32(90000 / fps)}
	f.keyframe = append([][]byte{stapA(rawSPS, rawPPS)}, packetizeH264(randomNAL(0x65, rawKeyframeWeight*delta))...)
	f.delta = packetizeH264(randomNAL(0x41, delta))
	f.audio = make([]byte, rawAudioFrame)
	f.audio[0] = 0x78 // a valid TOC byte: CELT FB 20 ms
	return f
}

// randomNAL is a NAL unit of size bytes with header hdr; the body has no
// zero byte, so no start code can form in it.
func randomNAL(hdr byte, size int) []byte {
	b := make([]byte, size)
	b[0] = hdr
	for i := 1; i < size; i++ {
		b[i] = byte(rand.Uint32()) | 1
	}
	return b
}

// stapA aggregates NAL units in one payload (RFC 6184 5.7.1), as encoders
// send SPS and PPS ahead of an IDR picture.
func stapA(nals ...[]byte) []byte {
	out := []byte{24}
	for _, n := range nals {
		out = append(out, byte(len(n)>>8), byte(len(n)))
		out = append(out, n...)
		out[0] |= n[0] & 0x60 // the highest NRI
	}
	return out
}

// packetizeH264 sends a NAL unit alone when it fits a packet, or as FU-A
// fragments (RFC 6184 5.8).
func packetizeH264(nal []byte) [][]byte {
	if len(nal) <= rawMaxPayload {
		return [][]byte{nal}
	}
	indicator := nal[0]&0xe0 | 28
	body := nal[1:]
	var out [][]byte
	for first := true; len(body) > 0; first = false {
		n := min(len(body), rawMaxPayload-2)
		header := nal[0] & 0x1f
		if first {
			header |= 0x80
		}
		if n == len(body) {
			header |= 0x40
		}
		out = append(out, append([]byte{indicator, header}, body[:n]...))
		body = body[n:]
	}
	return out
}

// stampOffset is where a video packet's payload takes the send time: in
// the first packet of a picture only (peer.Stamped reads a single NAL unit
// or the first FU-A fragment); -1 for none.
func stampOffset(payload []byte) int {
	switch t := payload[0] & 0x1f; {
	case t == 28 && payload[1]&0x80 != 0:
		return rawStampFUA
	case t >= 1 && t <= 23:
		return 1
	}
	return -1
}
