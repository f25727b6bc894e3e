package mp4

// Sample entries (the single entry of each track's stsd): avc1+avcC for
// H.264, mp4a+esds for AAC, Opus+dOps for Opus.

// opusPreSkip is the pre-skip written into dOps: 312 samples at 48 kHz is
// what libopus (and so every WebRTC sender) puts in front of the first
// decoded sample; players drop them so audio and video stay aligned.
const opusPreSkip = 312

// writeStsd writes the stsd box describing t. sps is t.SPS parsed (zero if
// unreadable), which sizes the video.
func writeStsd(b *boxBuf, t TrackInfo, sps spsInfo) {
	stsd := b.startFull("stsd", 0, 0)
	b.u32(1) // entry_count
	switch t.Codec {
	case CodecH264:
		writeAVC1(b, t, sps)
	case CodecAAC:
		e := startAudioEntry(b, "mp4a", t)
		writeEsds(b, t.AudioSpecificConfig)
		b.end(e)
	case CodecOpus:
		e := startAudioEntry(b, "Opus", t)
		dops := b.start("dOps") // Opus-in-ISOBMFF §4.3.2; not a full box
		b.u8(0)                 // Version
		b.u8(uint8(t.Channels)) // OutputChannelCount
		b.u16(opusPreSkip)
		b.u32(uint32(t.SampleRate)) // InputSampleRate
		b.u16(0)                    // OutputGain
		b.u8(0)                     // ChannelMappingFamily 0: mono or stereo
		b.end(dops)
		b.end(e)
	}
	b.end(stsd)
}

// startAudioEntry writes the AudioSampleEntry fields (ISO/IEC 14496-12
// §12.2.3) and leaves the box open for the codec's configuration box.
func startAudioEntry(b *boxBuf, typ string, t TrackInfo) int {
	e := b.start(typ)
	b.zeros(6)
	b.u16(1) // data_reference_index
	b.zeros(8)
	b.u16(uint16(t.Channels))
	b.u16(16) // samplesize
	b.zeros(4)
	b.u32(uint32(t.SampleRate) << 16)
	return e
}

func writeAVC1(b *boxBuf, t TrackInfo, sps spsInfo) {
	e := b.start("avc1")
	b.zeros(6)
	b.u16(1)    // data_reference_index
	b.zeros(16) // pre_defined, reserved
	b.u16(uint16(sps.width))
	b.u16(uint16(sps.height))
	b.u32(0x00480000) // 72 dpi
	b.u32(0x00480000)
	b.u32(0)
	b.u16(1)      // frame_count
	b.zeros(32)   // compressorname
	b.u16(0x18)   // depth
	b.u16(0xffff) // pre_defined = -1

	// AVCDecoderConfigurationRecord, ISO/IEC 14496-15 §5.3.3.1.
	c := b.start("avcC")
	b.u8(1)
	b.u8(t.SPS[1]) // profile, compatibility and level straight from the SPS
	b.u8(t.SPS[2])
	b.u8(t.SPS[3])
	b.u8(0xfc | 3) // lengthSizeMinusOne: 4-byte NALU lengths
	b.u8(0xe0 | 1) // one SPS
	b.u16(uint16(len(t.SPS)))
	b.bytes(t.SPS)
	b.u8(1) // one PPS
	b.u16(uint16(len(t.PPS)))
	b.bytes(t.PPS)
	if highProfile(t.SPS[1]) && sps.width > 0 {
		b.u8(0xfc | uint8(sps.chromaFormat))
		b.u8(0xf8 | uint8(sps.bitDepthLuma))
		b.u8(0xf8 | uint8(sps.bitDepthChrom))
		b.u8(0) // no SPS extensions
	}
	b.end(c)
	b.end(e)
}

// writeEsds writes the MPEG-4 elementary stream descriptor (ISO/IEC
// 14496-1 §7.2.6.5) around the AudioSpecificConfig. validate keeps the ASC
// short enough for one-byte descriptor lengths.
func writeEsds(b *boxBuf, asc []byte) {
	esds := b.startFull("esds", 0, 0)
	n := len(asc)
	b.u8(0x03) // ES_DescrTag
	b.u8(uint8(3 + 2 + 13 + 2 + n + 3))
	b.u16(0)   // ES_ID
	b.u8(0)    // no stream dependence, URL or OCR
	b.u8(0x04) // DecoderConfigDescrTag
	b.u8(uint8(13 + 2 + n))
	b.u8(0x40)               // objectTypeIndication: MPEG-4 audio
	b.u8(0x05<<2 | 1)        // streamType audio, upStream 0, reserved 1
	b.bytes([]byte{0, 0, 0}) // bufferSizeDB: unknown
	b.u32(0)                 // maxBitrate: unknown
	b.u32(0)                 // avgBitrate: variable
	b.u8(0x05)               // DecSpecificInfoTag
	b.u8(uint8(n))
	b.bytes(asc)
	b.u8(0x06) // SLConfigDescrTag
	b.u8(1)
	b.u8(0x02) // predefined: MP4
	b.end(esds)
}
