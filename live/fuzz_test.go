package live

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/trtcd/trtcd/codec"
	"github.com/trtcd/trtcd/rtmp/flv"
	"github.com/trtcd/trtcd/rtpframe"
	"github.com/trtcd/trtcd/sfu"
)

// FuzzRTMPIngest feeds a pusher's RTMP media messages into the live ingest,
// as the RTMP server does after authentication, with a WebRTC subscriber,
// an FLV player and a recorder watching. Input: a flags byte (see
// optionsFrom), then messages of [kind][timestamp step, int16][length,
// uint16][FLV tag body]; kind%3 is video, audio or script data.
//
// Nothing may panic (not even a recovered one: ErrInternal fails), every
// RTP packet, FLV tag and recording must be one a client can use, and a
// stream that a player plays must be recordable.
//
//	go test -run '^$' -fuzz '^FuzzRTMPIngest$' -fuzztime 10m ./live
func FuzzRTMPIngest(f *testing.F) {
	for _, seed := range rtmpSeeds(f) {
		f.Add(seed)
	}
	media := fuzzMedia(f)
	f.Fuzz(func(t *testing.T, data []byte) { pushRTMP(t, media, data) })
}

// pushRTMP runs one input of FuzzRTMPIngest and returns what the viewers
// saw.
func pushRTMP(t *testing.T, media *sfu.SFU, data []byte) *viewers {
	if len(data) == 0 {
		return nil
	}
	opts := optionsFrom(data[0])
	opts.ingest = true
	v := watch(t, media, "fuzz-rtmp", opts)
	defer v.end()
	pub, err := media.Join("fuzz-rtmp", "pusher", sfu.SourceAudio, sfu.SourceMain)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	in := NewIngest(pub, IngestConfig{ID: "pusher", AudioOnly: opts.audioOnly, Logger: quiet})
	defer in.Close()
	for _, tag := range rtmpMessages(data[1:]) {
		err := in.WriteTag(tag)
		v.drain()
		if errors.Is(err, ErrInternal) {
			t.Fatalf("a tag reached a bug: %v", err)
		}
		if err != nil {
			break // the RTMP server ends the push
		}
	}
	return v
}

// rtmpMessages splits fuzz input into media messages with absolute
// timestamps, as the RTMP chunk reader hands them over.
func rtmpMessages(b []byte) []flv.Tag {
	var tags []flv.Tag
	var ts uint32
	for len(b) >= 5 {
		kind := [...]uint8{flv.TagVideo, flv.TagAudio, flv.TagScript}[b[0]%3]
		ts += uint32(int32(int16(binary.BigEndian.Uint16(b[1:]))))
		n := min(int(binary.BigEndian.Uint16(b[3:])), len(b)-5)
		tags = append(tags, flv.Tag{Type: kind, Timestamp: ts, Data: b[5 : 5+n : 5+n]})
		b = b[5+n:]
	}
	return tags
}

// message is one RTMP media message of a seed.
type message struct {
	kind byte // 0 video, 1 audio, 2 script data
	step int16
	body []byte
}

func encodeMessages(flags byte, msgs ...message) []byte {
	b := []byte{flags}
	for _, m := range msgs {
		b = append(b, m.kind)
		b = binary.BigEndian.AppendUint16(b, uint16(m.step))
		b = binary.BigEndian.AppendUint16(b, uint16(len(m.body)))
		b = append(b, m.body...)
	}
	return b
}

// rtmpSeeds are what live-pusher, OBS and ffmpeg send: onMetaData, the
// sequence headers, a keyframe and pictures with AAC in between; and the
// tags that found bugs.
func rtmpSeeds(tb testing.TB) [][]byte {
	asc, aacFrames := realAAC(tb)
	idr := []byte{0x65, 0x88, 0x84, 0x21, 0x43, 0x21, 0x43}
	bigIDR := append([]byte{0x65, 0x88}, bytes.Repeat([]byte{0x5a}, 1300)...) // FU-A at the viewers
	slice := []byte{0x41, 0x9a, 0x02, 0x04, 0x08}
	meta := []byte{2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a', 8, 0, 0, 0, 0, 0, 0, 9}
	video := func(step int16, body []byte) message { return message{0, step, body} }
	audio := func(step int16, frame []byte) message {
		return message{1, step, flv.AppendAudioTag(nil, flv.AACRaw, frame)}
	}
	aacHeader := message{1, 0, flv.AppendAudioTag(nil, flv.AACSequenceHeader, asc)}

	stream := []message{{2, 0, meta}, video(0, avcHeader(4)), aacHeader, video(0, picture(true, lengthPrefixed(4, idr)))}
	for i, frame := range aacFrames {
		stream = append(stream, audio(23, frame))
		if i%2 == 1 {
			stream = append(stream, video(20, picture(false, lengthPrefixed(4, slice))))
		}
	}
	seeds := [][]byte{
		encodeMessages(0, stream...),
		encodeMessages(2, stream...), // recorded with Opus kept
		encodeMessages(1, stream...), // audio only
		// Issue 16: a zero length prefix after the sequence header.
		encodeMessages(0, video(0, avcHeader(4)), video(40, picture(true, []byte{0, 0, 0, 0}))),
		encodeMessages(0, video(0, avcHeader(1)), video(40, picture(true, lengthPrefixed(1, nil, idr))),
			video(40, picture(false, lengthPrefixed(1, slice)))),
		encodeMessages(0, video(0, avcHeader(4)), video(40, picture(true, lengthPrefixed(4, bigIDR))),
			video(-30000, picture(false, lengthPrefixed(4, slice))), video(math.MaxInt16, picture(false, lengthPrefixed(4, slice)))),
		// B-frames end the push.
		encodeMessages(0, video(0, avcHeader(4)), video(40, flv.AppendVideoTag(nil,
			flv.VideoTag{FrameType: flv.FrameInter, AVCPacketType: flv.AVCNALU, CompositionTime: 80, Data: lengthPrefixed(4, slice)}))),
		// HE-AAC signalled explicitly over the AAC-LC frames.
		encodeMessages(1, message{1, 0, flv.AppendAudioTag(nil, flv.AACSequenceHeader, []byte{0x2b, 0x92, 0x08, 0x00})},
			audio(23, aacFrames[0]), audio(23, aacFrames[1]), audio(23, aacFrames[2])),
	}
	return seeds
}

// realAAC encodes a few frames of a tone with the AAC encoder trtcd links
// (AAC-LC 44.1 kHz stereo, as ffmpeg and OBS send by default); without cgo,
// a config and frames of the same shape.
func realAAC(tb testing.TB) (asc []byte, frames [][]byte) {
	enc, err := codec.NewAACEncoder(44100, 2, 64000)
	if err != nil {
		return []byte{0x12, 0x10}, [][]byte{{0x21, 0x10, 0x04, 0x60, 0x8c, 0x1c}, {0x21, 0x10, 0x05}, {0x21, 0x00, 0x49}}
	}
	defer enc.Close()
	pcm := make([]int16, 2*codec.AACFrameSamples)
	out := make([]byte, 1536)
	for i := range 4 {
		for s := range codec.AACFrameSamples {
			v := int16(8000 * math.Sin(2*math.Pi*440*float64(i*codec.AACFrameSamples+s)/44100))
			pcm[2*s], pcm[2*s+1] = v, v
		}
		n, err := enc.Encode(pcm, out)
		if err != nil {
			tb.Fatal(err)
		}
		if n > 0 {
			frames = append(frames, append([]byte(nil), out[:n]...))
		}
	}
	return append([]byte(nil), enc.AudioSpecificConfig()...), frames
}

// FuzzWebRTCPublisherRTP feeds the RTP packets of a WebRTC publisher (H.264
// and Opus, with the fuzzer's sequence numbers, timestamps, markers and
// sources) into the publisher's tracks, with an FLV player and a recorder
// following them through rtpframe. Input: a flags byte (see optionsFrom), then
// packets of [flags][sequence step, int8][timestamp step, int16][length,
// uint16][payload]; packet flags: 1 audio, 2 marker, 4 a new source (the
// publisher republished), 8 the payload is the whole RTP packet.
//
//	go test -run '^$' -fuzz '^FuzzWebRTCPublisherRTP$' -fuzztime 10m ./live
func FuzzWebRTCPublisherRTP(f *testing.F) {
	for _, seed := range webrtcSeeds(f) {
		f.Add(seed)
	}
	media := fuzzMedia(f)
	f.Fuzz(func(t *testing.T, data []byte) { publishRTP(t, media, data) })
}

// publishRTP runs one input of FuzzWebRTCPublisherRTP and returns what the
// viewers saw.
func publishRTP(t *testing.T, media *sfu.SFU, data []byte) *viewers {
	if len(data) == 0 {
		return nil
	}
	v := watch(t, media, "fuzz-webrtc", optionsFrom(data[0]))
	defer v.end()
	pub, err := media.Join("fuzz-webrtc", "pusher", sfu.SourceAudio, sfu.SourceMain)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	var tracks [2]*sfu.Track
	for i, c := range []sfu.Codec{H264Codec, OpusCodec} {
		if tracks[i], err = pub.PublishTrack([]string{"pusher/video", "pusher/audio"}[i], []sfu.Source{sfu.SourceMain, sfu.SourceAudio}[i], c, nil); err != nil {
			t.Fatal(err)
		}
	}
	sources := [2]rtpSource{{pt: h264PayloadType, ssrc: 1000}, {pt: opusPayloadType, ssrc: 2000}}
	var packet []byte
	for b := data[1:]; len(b) >= 6; {
		flags := b[0]
		n := min(int(binary.BigEndian.Uint16(b[4:])), len(b)-6)
		payload := b[6 : 6+n]
		kind := flags & 1
		if flags&8 != 0 {
			packet = append(packet[:0], payload...)
		} else {
			packet = sources[kind].packet(packet[:0], flags, int8(b[1]), int16(binary.BigEndian.Uint16(b[2:])), payload)
		}
		tracks[kind].Write(packet)
		v.drain()
		b = b[6+n:]
	}
	return v
}

// rtpSource numbers and stamps one track's packets.
type rtpSource struct {
	pt   uint8
	ssrc uint32
	seq  uint16
	ts   uint32
}

func (s *rtpSource) packet(dst []byte, flags byte, seqStep int8, tsStep int16, payload []byte) []byte {
	if flags&4 != 0 {
		s.ssrc++
	}
	s.seq += uint16(int16(seqStep))
	s.ts += uint32(int32(tsStep))
	b1 := s.pt
	if flags&2 != 0 {
		b1 |= 0x80
	}
	dst = append(dst, 0x80, b1)
	dst = binary.BigEndian.AppendUint16(dst, s.seq)
	dst = binary.BigEndian.AppendUint32(dst, s.ts)
	dst = binary.BigEndian.AppendUint32(dst, s.ssrc)
	return append(dst, payload...)
}

// rtpIn is one packet of a seed.
type rtpIn struct {
	flags   byte
	seqStep int8
	tsStep  int16
	payload []byte
}

func encodeRTP(flags byte, packets ...rtpIn) []byte {
	b := []byte{flags}
	for _, p := range packets {
		b = append(b, p.flags, byte(p.seqStep))
		b = binary.BigEndian.AppendUint16(b, uint16(p.tsStep))
		b = binary.BigEndian.AppendUint16(b, uint16(len(p.payload)))
		b = append(b, p.payload...)
	}
	return b
}

// webrtcSeeds are what a browser sends: SPS, PPS and a keyframe in FU-A
// fragments, pictures and 20 ms Opus packets; and the same with a loss, a
// republish, STAP-A parameter sets, and a packet with a header extension.
func webrtcSeeds(tb testing.TB) [][]byte {
	opus := realOpus(tb)
	idr := append([]byte{0x65, 0x88}, bytes.Repeat([]byte{0x5a}, 1300)...) // two FU-A fragments
	slice := []byte{0x41, 0x9a, 0x02, 0x04}
	w := rtpframe.Packetizer{}
	payloads := func(nalus ...[]byte) [][]byte {
		var out [][]byte
		for i, n := range nalus {
			w.PacketizeNALU(n, 0, i == len(nalus)-1, func(p []byte) { out = append(out, append([]byte(nil), p[12:]...)) })
		}
		return out
	}
	var stream []rtpIn
	video := func(tsStep int16, nalus ...[]byte) {
		ps := payloads(nalus...)
		for i, p := range ps {
			flags := byte(0)
			if i == len(ps)-1 {
				flags |= 2
			}
			step := int16(0)
			if i == 0 {
				step = tsStep
			}
			stream = append(stream, rtpIn{flags, 1, step, p})
		}
	}
	video(3000, testSPS, testPPS, idr)
	for i, o := range opus {
		stream = append(stream, rtpIn{1, 1, 960, o})
		if i%2 == 1 {
			video(3000, slice)
		}
	}
	stapA := []byte{0x78}
	for _, n := range [][]byte{testSPS, testPPS} {
		stapA = binary.BigEndian.AppendUint16(stapA, uint16(len(n)))
		stapA = append(stapA, n...)
	}
	lossy := append([]rtpIn(nil), stream...)
	lossy[2].seqStep = 3
	republished := append(append([]rtpIn(nil), stream...), rtpIn{4, 1, 3000, stapA}, rtpIn{2, 1, 0, []byte{0x65, 0x88, 0x80}})
	withExtension := []byte{0x90, 0x80 | h264PayloadType, 0, 9, 0, 0, 0x2e, 0xe0, 0, 0, 3, 0xe8, 0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0}
	withExtension = append(withExtension, 0x65, 0x88, 0x80)
	return [][]byte{
		encodeRTP(0, stream...),
		encodeRTP(2, stream...),
		encodeRTP(1, stream...),
		encodeRTP(0, lossy...),
		encodeRTP(0, republished...),
		encodeRTP(0, rtpIn{2, 1, 3000, stapA}, rtpIn{2, 1, 0, []byte{0x65, 0x88, 0x80}}, rtpIn{10, 0, 0, withExtension}),
	}
}

// realOpus encodes a few 20 ms packets of a tone with libopus, as a browser
// sends them; without cgo, packets with a valid TOC byte.
func realOpus(tb testing.TB) [][]byte {
	enc, err := codec.NewOpusEncoder(48000, 2, 32000)
	if err != nil {
		return [][]byte{{0xfc, 0xff, 0xfe}, {0xfc, 0x01}, {0x78, 0x02}}
	}
	defer enc.Close()
	pcm := make([]int16, 2*960)
	out := make([]byte, codec.OpusMaxPacket)
	var packets [][]byte
	for i := range 4 {
		for s := range 960 {
			v := int16(8000 * math.Sin(2*math.Pi*440*float64(i*960+s)/48000))
			pcm[2*s], pcm[2*s+1] = v, v
		}
		n, err := enc.Encode(pcm, out)
		if err != nil {
			tb.Fatal(err)
		}
		packets = append(packets, append([]byte(nil), out[:n]...))
	}
	return packets
}
