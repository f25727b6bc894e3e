package bench

import (
	"math"
	"testing"
	"time"
)

func TestSeqStatsAcrossWrapWithLossReorderAndDuplicates(t *testing.T) {
	var s SeqStats
	// 65530 … 65535, 0 … 9 with 65533 lost, 2 arriving late (after 4), 5 twice.
	order := []uint16{65530, 65531, 65532, 65534, 65535, 0, 1, 3, 4, 2, 5, 5, 6, 7, 8, 9}
	for _, q := range order {
		s.Add(q)
	}
	if s.Expected() != 16 || s.Received != 15 || s.Lost() != 1 || s.Late != 1 || s.Dups != 1 {
		t.Fatalf("expected %d received %d lost %d late %d dups %d", s.Expected(), s.Received, s.Lost(), s.Late, s.Dups)
	}
	// The lost packet is retransmitted much later: recovered, not lost.
	s.Add(65533)
	if s.Lost() != 0 || s.Late != 2 {
		t.Fatalf("after the retransmission: lost %d late %d", s.Lost(), s.Late)
	}
}

func TestSeqStatsLongRunManyWraps(t *testing.T) {
	var s SeqStats
	seq := uint16(60000)
	for i := range 300000 {
		if i%100 != 7 { // 1 % loss
			s.Add(seq)
		}
		seq++
	}
	if s.Expected() != 300000-7 && s.Expected() != 300000 {
		t.Fatalf("expected %d", s.Expected())
	}
	if loss := float64(s.Lost()) / float64(s.Expected()); math.Abs(loss-0.01) > 0.0005 {
		t.Fatalf("loss %.4f, want 0.01", loss)
	}
	if s.Dups != 0 || s.TooOld != 0 {
		t.Fatalf("dups %d too old %d", s.Dups, s.TooOld)
	}
}

func TestSeqStatsIgnoresAncientPackets(t *testing.T) {
	var s SeqStats
	for q := range uint16(10000) {
		s.Add(q)
	}
	s.Add(10) // far older than the window
	if s.TooOld != 1 || s.Received != 10000 || s.Dups != 0 {
		t.Fatalf("too old %d received %d dups %d", s.TooOld, s.Received, s.Dups)
	}
}

func TestJitterOfASteadyStreamIsZeroAndGrowsWithVariation(t *testing.T) {
	j := NewJitter(90000)
	t0 := time.Unix(0, 0)
	for i := range 100 {
		j.Add(uint32(i*3000), t0.Add(time.Duration(i)*time.Second/30))
	}
	if j.Duration() > time.Microsecond {
		t.Fatalf("steady stream jitter %s", j.Duration())
	}
	for i := 100; i < 400; i++ {
		wobble := time.Duration(i%2) * 10 * time.Millisecond
		j.Add(uint32(i*3000), t0.Add(time.Duration(i)*time.Second/30+wobble))
	}
	if d := j.Duration(); d < 8*time.Millisecond || d > 12*time.Millisecond {
		t.Fatalf("alternating 10 ms wobble gives jitter %s, want about 10 ms", d)
	}
}

func TestPercentiles(t *testing.T) {
	s := NewSamples(1000)
	for i := 1; i <= 100; i++ {
		s.Add(float64(i))
	}
	for p, want := range map[float64]float64{50: 50, 99: 99, 100: 100, 0: 1} {
		if got := s.Percentile(p); got != want {
			t.Errorf("p%.0f = %v, want %v", p, got, want)
		}
	}
	big := NewSamples(1000)
	for i := range 100000 {
		big.Add(float64(i % 1000))
	}
	if p := big.Percentile(50); p < 440 || p > 560 {
		t.Fatalf("sampled median %v, want about 500", p)
	}
	if !math.IsNaN(NewSamples(1).Percentile(50)) {
		t.Fatal("an empty set has no percentile")
	}
}
