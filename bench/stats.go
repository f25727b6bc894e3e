package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// SeqStats accounts for one RTP stream at a receiver: what arrived, what is
// missing, what came late (recovered by a retransmission or reordered), and
// duplicates, across 16-bit sequence-number wrap-around.
type SeqStats struct {
	started     bool
	cycles      uint64 // wraps seen, times 65536
	last        uint16 // highest sequence number so far
	first, high uint64 // extended sequence numbers

	seen     [seenWindow / 64]uint64 // bitmap of recent extended numbers
	Received uint64                  // distinct packets
	Late     uint64                  // arrived after a later packet (reordered or retransmitted)
	Dups     uint64
	TooOld   uint64 // older than the window: counted neither received nor lost
}

// seenWindow is how far back duplicates and late arrivals are recognised:
// far more than a retransmission can lag at these rates.
const seenWindow = 4096

func (s *SeqStats) bit(ext uint64) (word *uint64, mask uint64) {
	i := ext % seenWindow
	return &s.seen[i/64], 1 << (i % 64)
}

// Add records a packet's sequence number.
func (s *SeqStats) Add(seq uint16) {
	if !s.started {
		s.started, s.last, s.first, s.high = true, seq, uint64(seq), uint64(seq)
		s.Received = 1
		w, m := s.bit(s.high)
		*w |= m
		return
	}
	var ext uint64
	switch diff := int16(seq - s.last); {
	case diff > 0: // newer, possibly across a wrap
		if seq < s.last {
			s.cycles += 1 << 16
		}
		ext = s.cycles + uint64(seq)
		start := s.high + 1 // forget what the window slides past
		if ext-start >= seenWindow {
			start = ext - seenWindow + 1
		}
		for e := start; e <= ext; e++ {
			w, m := s.bit(e)
			*w &^= m
		}
		s.high, s.last = ext, seq
	default: // older or equal
		ext = s.cycles + uint64(seq)
		if seq > s.last {
			ext -= 1 << 16 // from before the last wrap
		}
		if s.high-ext >= seenWindow || ext < s.first {
			s.TooOld++
			return
		}
		if ext != s.high {
			s.Late++
		}
	}
	w, m := s.bit(ext)
	if *w&m != 0 {
		s.Dups++
		if ext != s.high {
			s.Late--
		}
		return
	}
	*w |= m
	s.Received++
}

// Expected is the span of sequence numbers from the first to the highest.
func (s *SeqStats) Expected() uint64 {
	if !s.started {
		return 0
	}
	return s.high - s.first + 1
}

// Lost is what is still missing.
func (s *SeqStats) Lost() uint64 {
	if e := s.Expected(); e > s.Received {
		return e - s.Received
	}
	return 0
}

// Jitter is RFC 3550's interarrival jitter estimate, in the stream's
// timestamp units.
type Jitter struct {
	started      bool
	lastArrival  float64 // in timestamp units
	lastRTP      uint32
	J            float64
	clockPerNano float64
}

// NewJitter makes a jitter estimator for a clock rate (Hz).
func NewJitter(clockRate uint32) *Jitter {
	return &Jitter{clockPerNano: float64(clockRate) / 1e9}
}

// Add records a packet's RTP timestamp and arrival time.
func (j *Jitter) Add(rtpTime uint32, arrival time.Time) {
	a := float64(arrival.UnixNano()) * j.clockPerNano
	if j.started {
		d := (a - j.lastArrival) - float64(int32(rtpTime-j.lastRTP))
		j.J += (math.Abs(d) - j.J) / 16
	}
	j.started, j.lastArrival, j.lastRTP = true, a, rtpTime
}

// Duration is the jitter as time.
func (j *Jitter) Duration() time.Duration {
	if j.clockPerNano == 0 {
		return 0
	}
	return time.Duration(j.J / j.clockPerNano)
}

// Samples keeps latency samples for percentiles: all of them up to a cap,
// then a uniform random sample (reservoir sampling), so memory stays fixed
// however long the run.
type Samples struct {
	values []float64
	n      uint64
	cap    int
}

// NewSamples keeps at most max values.
func NewSamples(max int) *Samples { return &Samples{cap: max} }

func (s *Samples) Add(v float64) {
	s.n++
	if len(s.values) < s.cap {
		s.values = append(s.values, v)
		return
	}
	if i := rand.Uint64N(s.n); i < uint64(s.cap) {
		s.values[i] = v
	}
}

// Count is how many values were added.
func (s *Samples) Count() uint64 { return s.n }

// Percentile returns the p-th percentile (0..100) by nearest rank; NaN when
// empty.
func (s *Samples) Percentile(p float64) float64 {
	if len(s.values) == 0 {
		return math.NaN()
	}
	v := slices.Clone(s.values)
	slices.Sort(v)
	rank := int(math.Ceil(p/100*float64(len(v)))) - 1
	return v[min(max(rank, 0), len(v)-1)]
}
