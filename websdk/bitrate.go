package websdk

import "github.com/trtcd/trtcd/internal/wayin"

// videoRange is the bitrate range (kbps) a publisher is held to. The SDK
// asks for its video profile's bitrate (constraintConfig.videoBps, in
// bits/s; 0 when absent): that becomes the ceiling, kept within the
// server's floor and ceiling, and the floor is the server's default
// minimum, never above the ceiling.
func videoRange(l wayin.BitrateLimits, videoBps int) (minKbps, maxKbps int) {
	maxKbps = l.DefaultMax
	if videoBps > 0 {
		maxKbps = videoBps / 1000
	}
	maxKbps = min(max(maxKbps, l.Floor), l.Ceiling)
	minKbps = min(max(l.DefaultMin, l.Floor), maxKbps)
	return minKbps, maxKbps
}
