package peer

import (
	"testing"
	"time"
)

func TestStampRoundTripsWithoutZeroBytes(t *testing.T) {
	b := make([]byte, 20)
	b[0] = 0x78
	Stamp(b[1:])
	for i, c := range b[1:12] {
		if c == 0 {
			t.Fatalf("byte %d of the stamp is zero", i)
		}
	}
	at, ok := Stamped(b, false)
	if !ok || time.Since(at) > time.Second || time.Since(at) < 0 {
		t.Fatalf("stamp read back as %v %v", at, ok)
	}
	fu := append([]byte{0x7c, 0x85}, b[1:]...)
	if _, ok := Stamped(fu, true); !ok {
		t.Fatal("no stamp in the first FU-A fragment")
	}
	fu[1] = 0x05 // a middle fragment
	if _, ok := Stamped(fu, true); ok {
		t.Fatal("a stamp read from a middle fragment")
	}
}
