package codec

import "errors"

// Sentinel errors; callers test them with errors.Is. Errors returned by this
// package wrap one of these with context.
var (
	// ErrUnavailable is returned by every constructor of a binary built
	// without cgo.
	ErrUnavailable = errors.New("codec: this trtcd was built without cgo; audio transcoding (AAC/Opus/MP3) is unavailable")

	// ErrClosed is returned when a codec is used after Close.
	ErrClosed = errors.New("codec: use of closed codec")

	// ErrInvalidArgument reports a parameter the codec cannot work with
	// (sample rate, channel count, bitrate, PCM length).
	ErrInvalidArgument = errors.New("codec: invalid argument")

	// ErrInvalidConfig reports an AudioSpecificConfig that cannot be decoded.
	ErrInvalidConfig = errors.New("codec: invalid AudioSpecificConfig")

	// ErrCorruptData reports a compressed frame the decoder rejected.
	ErrCorruptData = errors.New("codec: corrupt or unsupported frame")

	// ErrBufferTooSmall reports an output slice too short for the result.
	ErrBufferTooSmall = errors.New("codec: output buffer too small")
)
