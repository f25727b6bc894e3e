//go:build cgo

package codec

import (
	"errors"
	"testing"
)

func cachedFilters() int {
	n := 0
	polyphaseFilters.Range(func(any, any) bool { n++; return true })
	return n
}

// RTMP sequence headers naming any SBR rate they like are refused before a
// transcoder is built, and nothing they do grows the process-wide filter
// cache: 3269 distinct rates once kept 165 MB of tables for good.
func TestOddAACRatesLeaveTheFilterCacheAlone(t *testing.T) {
	before := cachedFilters()
	for r := 40000; r < 48000; r += 7 {
		if isAACSampleRate(r) {
			continue
		}
		p, err := NewAACToOpus(explicitRateASC(0, r), 48000)
		if err == nil {
			p.Close()
			t.Fatalf("HE-AAC with SBR at %d Hz was accepted", r)
		}
		if !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("SBR at %d Hz: err = %v, want ErrInvalidConfig", r, err)
		}
	}
	// A resampler for a rate outside the AAC table still works, with a
	// table of its own that goes when it does.
	rs, err := newPolyphaseResampler(1, 47000, 48000)
	if err != nil {
		t.Fatal(err)
	}
	rs.Close()
	if after := cachedFilters(); after != before {
		t.Fatalf("the filter cache grew from %d to %d tables", before, after)
	}
	// The indexed rates are cached, once each.
	for range 3 {
		rs, err := newPolyphaseResampler(2, 22050, 48000)
		if err != nil {
			t.Fatal(err)
		}
		rs.Close()
	}
	if after := cachedFilters(); after > before+1 {
		t.Fatalf("the filter cache grew from %d to %d tables for one ratio", before, after)
	}
}
