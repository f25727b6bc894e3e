package mp4

import "errors"

// Sentinel errors; callers test them with errors.Is. Errors returned by this
// package wrap one of these with context.
var (
	// ErrNoTracks is returned by NewFragmentWriter without any track.
	ErrNoTracks = errors.New("mp4: no tracks")

	// ErrBadTrack reports a TrackInfo that cannot be written: an unknown
	// codec, a missing SPS/PPS or AudioSpecificConfig, two tracks of one kind.
	ErrBadTrack = errors.New("mp4: invalid track description")

	// ErrNoSuchTrack is returned by WriteVideo on an audio-only writer, or
	// by WriteAudio on a video-only one.
	ErrNoSuchTrack = errors.New("mp4: the writer has no track of this kind")

	// ErrTimestampOrder reports a sample whose time is not after the
	// previous sample of its track; the sample is not written.
	ErrTimestampOrder = errors.New("mp4: sample time not after the previous sample")

	// ErrClosed is returned when a writer is used after Close.
	ErrClosed = errors.New("mp4: writer closed")

	// ErrMalformed reports a box structure that cannot be parsed: a size
	// that does not fit its parent, a missing mandatory box, a bad field.
	ErrMalformed = errors.New("mp4: malformed file")

	// ErrNotFragmented reports a file without the moov/mvex that a file made
	// by FragmentWriter starts with.
	ErrNotFragmented = errors.New("mp4: not a fragmented MP4")

	// ErrNoMedia reports a fragmented file that holds no complete fragment,
	// e.g. one cut by a crash within its first second.
	ErrNoMedia = errors.New("mp4: no complete fragment")
)
