package bench

import "fmt"

// KindReport is the delivery and latency of the rooms of one client kind.
type KindReport struct {
	Kind          ClientKind  `json:"kind"`
	Rooms         int         `json:"rooms"`
	Expected      uint64      `json:"expectedPackets"`
	Received      uint64      `json:"receivedPackets"`
	DeliveryRatio float64     `json:"deliveryRatio"`
	LatencyMs     Percentiles `json:"latencyMs"`
	// LatencyFrom says which media carried the send-time stamps: RTMP
	// rooms' audio is transcoded (AAC → Opus) and loses them, so their
	// latency is the video's only.
	LatencyFrom string `json:"latencyFrom"`
}

func (k KindReport) latencyText() string {
	if k.LatencyMs.Count == 0 {
		return "not measured (no stamped packet arrived)"
	}
	return fmt.Sprintf("p50 %.1f p99 %.1f ms (%s)", k.LatencyMs.P50, k.LatencyMs.P99, k.LatencyFrom)
}

// byKind splits the pairs' figures by client kind, in a fixed order.
func byKind(pairs []*Pair) []KindReport {
	var out []KindReport
	for _, kind := range kinds {
		var of []*Pair
		for _, p := range pairs {
			if p.Kind == kind {
				of = append(of, p)
			}
		}
		if len(of) == 0 {
			continue
		}
		t := totalsOf(of, kind)
		k := KindReport{Kind: kind, Rooms: roomsUp(of), Expected: t.Expected, Received: t.Received,
			LatencyMs: percentilesOf(latencyOf(of)), LatencyFrom: "audio and video"}
		if kind == KindRTMP {
			k.LatencyFrom = "video only"
		}
		if t.Expected > 0 {
			k.DeliveryRatio = float64(t.Received) / float64(t.Expected)
		}
		out = append(out, k)
	}
	return out
}

// latencyOf pools the pairs' latency samples.
func latencyOf(pairs []*Pair) *Samples {
	all := NewSamples(200000)
	for _, p := range pairs {
		p.mu.Lock()
		for _, v := range p.latency.values {
			all.Add(v)
		}
		p.mu.Unlock()
	}
	return all
}
