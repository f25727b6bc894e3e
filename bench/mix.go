package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// ClientKind is how a room's participants reach the server.
type ClientKind string

const (
	// KindWHIP publishes over WHIP and plays over WHEP.
	KindWHIP ClientKind = "whip"
	// KindWS joins through the /ws signalling and publishes and subscribes
	// there, with heartbeats, as the browser SDK does.
	KindWS ClientKind = "ws"
	// KindRTMP pushes H.264 + AAC over RTMP, played over WHEP. RTMP rooms
	// are always one-way: a pusher has nothing to play its partner with.
	KindRTMP ClientKind = "rtmp"
)

// kinds in the order reports list them.
var kinds = []ClientKind{KindWHIP, KindWS, KindRTMP}

// Mix is the share of rooms of each kind, as weights: whip=3,ws=1 makes
// three WHIP rooms for each WebSocket room. The zero Mix is all WHIP.
type Mix map[ClientKind]int

// ParseMix reads "whip=N,ws=N,rtmp=N" (any subset, any order).
func ParseMix(s string) (Mix, error) {
	m := Mix{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, weight, ok := strings.Cut(part, "=")
		k := ClientKind(strings.TrimSpace(name))
		n, err := strconv.Atoi(strings.TrimSpace(weight))
		switch {
		case !ok || err != nil || n < 0:
			return nil, fmt.Errorf("mix %q: want kind=N with N ≥ 0, e.g. whip=2,ws=1,rtmp=1", part)
		case k != KindWHIP && k != KindWS && k != KindRTMP:
			return nil, fmt.Errorf("mix %q: unknown client kind %q (whip, ws or rtmp)", part, k)
		}
		m[k] += n
	}
	if m.total() == 0 {
		return nil, fmt.Errorf("mix %q: no room has a kind; give at least one weight above 0", s)
	}
	return m, nil
}

func (m Mix) total() (n int) {
	for _, w := range m {
		n += w
	}
	return n
}

// String is the form ParseMix reads.
func (m Mix) String() string {
	var parts []string
	for _, k := range kinds {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
		}
	}
	return strings.Join(parts, ",")
}

// KindOf is the kind of room i. Kinds interleave (smooth weighted
// round-robin over one cycle of the weights), so any prefix of rooms, as a
// ramp or a capacity search starts them, keeps close to the shares.
func (m Mix) KindOf(i int) ClientKind {
	if m.total() == 0 {
		return KindWHIP
	}
	cycle := m.cycle()
	return cycle[i%len(cycle)]
}

func (m Mix) cycle() []ClientKind {
	total := m.total()
	credit := map[ClientKind]int{}
	out := make([]ClientKind, 0, total)
	for range total {
		var best ClientKind
		for _, k := range kinds {
			credit[k] += m[k]
			if m[k] > 0 && (best == "" || credit[k] > credit[best]) {
				best = k
			}
		}
		credit[best] -= total
		out = append(out, best)
	}
	return out
}
