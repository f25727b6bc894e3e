package codec

// Sizes callers need to allocate buffers once, up front.

// OpusMaxPacket is the largest Opus packet a single frame can produce
// (RFC 6716 §3.4: 1275 bytes + TOC). An output slice this long never fails.
const OpusMaxPacket = 1276

// OpusMaxFrameSamples is the longest Opus packet in samples per channel at
// 48 kHz (120 ms); a decode buffer of this many samples per channel always
// suffices.
const OpusMaxFrameSamples = 5760

// AACMaxFrameSamples is the most samples per channel one AAC frame decodes
// to (HE-AAC with explicit SBR: 2048); a PCM buffer of AACMaxFrameSamples *
// Channels() always suffices.
const AACMaxFrameSamples = 2048

// AACFrameSamples is the number of samples per channel in one AAC-LC frame.
const AACFrameSamples = 1024

// MP3FlushBytes is the output space Flush needs (LAME's documented 7200).
const MP3FlushBytes = 7200
