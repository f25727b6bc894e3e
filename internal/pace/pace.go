// Package pace holds the frame rates trtcd keeps from one publisher, and
// the token buckets that keep them. Bytes are capped elsewhere (the
// publish rate); a frame costs per frame, whatever its size: a pusher
// sending one-byte pictures, a few bytes each on the wire, would otherwise
// send a hundred thousand a second, each one forwarded, packetised for
// every viewer, and kept in a recording whose finalisation holds every
// sample in memory.
package pace

import (
	"math"
	"time"
)

// At most this many frames a second of each kind, and a second's worth at
// once: 60 fps video and 10 ms audio frames with room to spare.
const (
	VideoFrames = 120
	AudioFrames = 200
)

// Frames is a token bucket of frames over their arrival on the wall clock
// (a publisher's timestamps are its own to choose). The zero value starts
// full. It serves one goroutine.
type Frames struct {
	tokens  float64
	at      time.Time
	Dropped int // frames refused so far
}

// Allow takes a frame arriving at now and reports whether it is within
// perSecond.
func (p *Frames) Allow(now time.Time, perSecond float64) bool {
	return p.AllowN(now, perSecond, 1)
}

// AllowN is Allow for a frame that counts as n (AudioCost).
func (p *Frames) AllowN(now time.Time, perSecond, n float64) bool {
	if p.at.IsZero() {
		p.tokens = perSecond
	} else {
		p.tokens = min(p.tokens+now.Sub(p.at).Seconds()*perSecond, perSecond)
	}
	p.at = now
	if p.tokens < n {
		p.Dropped++
		return false
	}
	p.tokens -= n
	return true
}

// AudioFrameLength is the audio frame AudioFrames counts: an Opus packet
// may carry up to 120 ms, six times the usual 20 ms, and costs its decoder
// six times as much.
const AudioFrameLength = 20 * time.Millisecond

// AudioCost is what an audio frame lasting d counts against AudioFrames:
// one per AudioFrameLength begun, at least one.
func AudioCost(d time.Duration) float64 {
	return max(1, math.Ceil(float64(d)/float64(AudioFrameLength)))
}

// Pictures paces video: after a picture is dropped, the pictures that
// refer to it go too, until the next keyframe.
type Pictures struct {
	Frames
	gap bool
}

// Allow reports whether to keep a picture arriving at now.
func (p *Pictures) Allow(now time.Time, perSecond float64, keyframe bool) bool {
	if !p.Frames.Allow(now, perSecond) {
		p.gap = true
		return false
	}
	if p.gap && !keyframe {
		return false
	}
	p.gap = false
	return true
}
