package cluster

import (
	"time"

	"github.com/trtcd/trtcd/sfu"
)

// load measures what a node's heartbeat reports besides rooms and streams:
// the CPU the process used and the media bitrate it moved since the last
// beat.
type load struct {
	bytes func() uint64 // media bytes received and forwarded so far (nil: none)

	at    time.Time
	cpu   time.Duration
	total uint64
}

func mediaBytes(s *sfu.SFU) func() uint64 {
	if s == nil {
		return nil
	}
	return s.MediaBytes
}

// sample returns the cores used and the bits per second since the last
// sample (zero the first time).
func (l *load) sample() (cores float64, bitrate uint64) {
	now, cpu := time.Now(), processCPU()
	var total uint64
	if l.bytes != nil {
		total = l.bytes()
	}
	if wall := now.Sub(l.at).Seconds(); !l.at.IsZero() && wall > 0 {
		cores = (cpu - l.cpu).Seconds() / wall
		bitrate = uint64(float64(total-l.total) * 8 / wall)
	}
	l.at, l.cpu, l.total = now, cpu, total
	return cores, bitrate
}
