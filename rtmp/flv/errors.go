package flv

import "errors"

// Sentinel errors returned by the parsers; callers match them with errors.Is.
// Every parser wraps them with the detail that failed, so the log says what
// was wrong without dumping the bytes.
var (
	// ErrBadHeader means the stream does not start with an FLV file header.
	ErrBadHeader = errors.New("flv: bad file header")
	// ErrBadTag means a tag header is malformed (unknown type, bad size
	// trailer, non-zero stream id, encrypted tag).
	ErrBadTag = errors.New("flv: bad tag")
	// ErrTagTooLarge means a tag announces more data than the caller allows;
	// nothing was allocated for it.
	ErrTagTooLarge = errors.New("flv: tag too large")
	// ErrShortBody means a tag body ends before a field it must contain.
	ErrShortBody = errors.New("flv: tag body too short")
	// ErrUnsupportedCodec means the body is not H.264 (video) or AAC (audio),
	// the only codecs this package understands.
	ErrUnsupportedCodec = errors.New("flv: unsupported codec")
	// ErrBadAVCConfig means an AVCDecoderConfigurationRecord is malformed.
	ErrBadAVCConfig = errors.New("flv: bad AVC decoder configuration record")
	// ErrBadNALU means an AVCC length prefix points outside the buffer or a
	// NAL unit is too long for the length size.
	ErrBadNALU = errors.New("flv: bad AVCC NAL unit")
	// ErrBadAudioConfig means an AudioSpecificConfig is malformed.
	ErrBadAudioConfig = errors.New("flv: bad AudioSpecificConfig")
)
