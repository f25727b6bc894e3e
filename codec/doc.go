// Package codec is trtcd's audio transcoding layer: Opus, AAC and MP3 behind a
// small Go API, used where WebRTC (Opus) meets RTMP/FLV and MP4 (AAC) or audio
// recordings (MP3).
//
// It has two layers:
//
//   - Primitives, thin cgo wrappers around Debian's C libraries, one per file:
//     OpusEncoder/OpusDecoder (libopus), AACDecoder (faad2), AACEncoder
//     (vo-aacenc), MP3Encoder (LAME) and Resampler (speexdsp). Each owns C
//     state that Close frees; Close is idempotent; C code only ever writes into
//     Go slices through a length the Go side has checked.
//   - Pipelines in plain Go on top (AACToOpus, OpusToAAC, OpusToMP3): buffering,
//     framing and timestamps, allocation-free once constructed. OpusToAAC and
//     OpusToMP3 share their input half (opus_input.go): RTP Opus decoded with
//     gap filling, then resampled to the encoder's rate. AACToOpus upsamples
//     to 48 kHz with its own polyphase filter (polyphase.go; the dot
//     products vectorised in C, polyphase_simd.go), cheaper than speexdsp
//     for 44.1 kHz and better; downsampling stays on speexdsp.
//
// No value in this package is safe for concurrent use: each stream's pipeline
// belongs to one goroutine, like the rest of trtcd's media path.
//
// # Building
//
// This is the only cgo package of trtcd. It links with explicit -l flags rather
// than pkg-config so that `go build -ldflags '-extldflags "-static"'` works
// (pkg-config puts -lm before libspeexdsp.a). Needed Debian packages:
// libopus-dev libfaad-dev libvo-aacenc-dev libmp3lame-dev libspeexdsp-dev.
// Built with CGO_ENABLED=0 the package still compiles, but every constructor
// returns ErrUnavailable.
//
// # Licence consequence
//
// faad2 is GPL-2.0-or-later, so a trtcd binary built with cgo (which links
// faad2) is, as a whole, distributed under GPL-2.0-or-later. LAME is
// LGPL-2.0-or-later: a statically linked binary must let users relink against
// a modified LAME (ship the object files), or LAME must be linked dynamically.
// libopus and speexdsp are BSD-3-Clause, vo-aacenc is Apache-2.0. A
// CGO_ENABLED=0 build links none of them.
package codec
