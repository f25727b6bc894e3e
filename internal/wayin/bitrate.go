package wayin

import (
	"fmt"
	"strconv"
)

// BitrateLimits are the bitrate defaults and bounds (kbps). TRTC clients
// ask for 400–800; the server limits keep a client from asking for a range
// it cannot hold.
type BitrateLimits struct {
	DefaultMin, DefaultMax int
	Floor, Ceiling         int
}

// DefaultBitrateLimits are TRTC's defaults within 100 kbps – 4 Mbps.
var DefaultBitrateLimits = BitrateLimits{DefaultMin: 400, DefaultMax: 800, Floor: 100, Ceiling: 4000}

// Clamp applies the limits to a client's range (0 = the default) and
// checks that it is a range.
func (l BitrateLimits) Clamp(minKbps, maxKbps int) (int, int, error) {
	if l.Ceiling == 0 {
		l = DefaultBitrateLimits
	}
	if minKbps < 0 || maxKbps < 0 {
		return 0, 0, fmt.Errorf("bitrates must be positive kbps, got %d–%d", minKbps, maxKbps)
	}
	if minKbps == 0 {
		minKbps = l.DefaultMin
	}
	if maxKbps == 0 {
		maxKbps = l.DefaultMax
	}
	minKbps, maxKbps = min(max(minKbps, l.Floor), l.Ceiling), min(max(maxKbps, l.Floor), l.Ceiling)
	if minKbps > maxKbps {
		return 0, 0, fmt.Errorf("minBitrate %d is above maxBitrate %d", minKbps, maxKbps)
	}
	return minKbps, maxKbps, nil
}

// QueryKbps reads an optional bitrate query parameter (0 when absent).
func QueryKbps(name, text string) (int, error) {
	if text == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s %q is not a positive number of kbps", name, text)
	}
	return n, nil
}
