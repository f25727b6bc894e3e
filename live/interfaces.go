package live

import "github.com/trtcd/trtcd/rtmp/flv"

// What live needs from around it: where a player's tags go, and the audio
// transcoders in both directions (package codec has the real ones; tests
// put fakes in their place).

// TagWriter receives a player's FLV tags (rtmp.TagWriter, or an HTTP-FLV
// response). Tag data is not reused after the call.
type TagWriter interface {
	WriteTag(flv.Tag) error
}

// AudioTranscoder turns AAC frames into 20 ms Opus frames; codec.AACToOpus
// is the real one.
type AudioTranscoder interface {
	Push(aacFrame []byte, ptsMs uint32, emit func(opus []byte, rtpTimestamp48k uint32)) error
	Close() error
}

// AudioEncoder turns Opus RTP payloads into AAC frames; codec.OpusToAAC is
// the real one.
type AudioEncoder interface {
	AudioSpecificConfig() []byte
	Push(opus []byte, rtpTimestamp uint32, emit func(aac []byte, ptsMs uint32)) error
	Close() error
}
