// Package mp4 writes recordings as MP4: a crash-safe fragmented file while
// recording, and a progressive ("faststart") file when the recording ends.
//
// While recording, FragmentWriter appends one moof+mdat fragment of at most
// about a second at a time, each with a single Write followed by an fsync, so
// a crash (kill -9, power loss) loses at most the fragment being built. The
// fragmented file plays as it is; Finalize rewrites it as a progressive MP4
// with the moov first, ignoring a trailing fragment cut short by a crash, and
// Scan tells how much media a fragmented file holds without rewriting it.
//
// Time: every sample carries its presentation time as a time.Duration from
// one recording origin shared by all tracks (the caller's choice, usually the
// moment recording started). The writer puts that time, in the track's
// timescale, into each fragment's tfdt, so a track that starts late (video
// 40 ms after audio) or pauses (muted audio) keeps its place without edit
// lists and without drift: a sample's duration only fills the space up to the
// next sample, and the next fragment's tfdt restates the absolute time.
// Finalize turns the per-track start times into edit lists (an empty edit
// before a late track) relative to the earliest sample of the recording.
// Audio frames whose time is within 1/16 of a frame of where the previous
// frame ends are put exactly there, so times rounded to milliseconds still
// give AAC frames of exactly 1024 samples.
//
// Scan may run on a file that is still being written: it reads only whole
// fragments.
//
// Codecs: H.264 video (avc1, samples in AVCC form with 4-byte NALU lengths),
// AAC audio (mp4a/esds, raw frames without ADTS headers) and Opus audio
// (Opus/dOps). Only the standard library is used.
package mp4
