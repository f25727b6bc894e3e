package sfu

// DefaultPublishKbps is Config.PublishKbps's default: five times the
// largest bitrate a client is told to keep to (4 Mbit/s), above any
// camera or screen a school sends.
const DefaultPublishKbps = 20000

// rateCap drops what a WebRTC publisher's track sends beyond its cap,
// averaged over a second. A client is told its bitrate (REMB), but one
// that ignores it would otherwise have every byte forwarded to each of
// its viewers, on the worker every room on its socket shares. It is a
// token bucket of bytes, a second of the cap deep, used by the track's
// forwarding goroutine only.
type rateCap struct {
	perSecond int64 // bytes; 0: no cap
	tokens    int64
	last      int64 // monotonic ns of the last packet
}

// minPacketCost is the least a packet is charged, in bytes. Forwarding
// costs per packet more than per byte, so a flood of tiny packets counts as
// if each were this big: at the default cap, 5,000 packets a second per
// track, where a 20 Mbit/s stream of full packets is 2,000; audio's 50
// packets a second take 200 kbit/s of it.
const minPacketCost = 500

// maxRateCapKbps bounds a configured cap (10 Gbit/s) so that a second's
// refill cannot overflow.
const maxRateCapKbps = 10_000_000

func newRateCap(kbps int) rateCap {
	perSecond := int64(min(kbps, maxRateCapKbps)) * 1000 / 8
	return rateCap{perSecond: perSecond, tokens: perSecond}
}

// allow takes a packet of n bytes arriving at now and reports whether it
// fits.
func (r *rateCap) allow(n int, now int64) bool {
	if r.perSecond == 0 {
		return true
	}
	elapsed := min(max(now-r.last, 0), 1e9) // a second refills the bucket; and no overflow
	// Time that earns less than a byte (packets of one batch arrive
	// microseconds apart) is kept for the next packet, not lost.
	if earned := elapsed * r.perSecond / 1e9; earned > 0 {
		r.tokens = min(r.tokens+earned, r.perSecond)
		r.last = now
	}
	cost := int64(max(n, minPacketCost))
	if r.tokens < cost {
		return false
	}
	r.tokens -= cost
	return true
}
