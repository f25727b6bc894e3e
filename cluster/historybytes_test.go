package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A class's history in Redis is capped in bytes as well as in messages:
// the oldest go first, the newest always stays, a history kept before its
// size was is measured once, and destroying the class removes the size.
func TestClassHistoryIsCappedInBytes(t *testing.T) {
	ctx := context.Background()
	d := newTestDirectory(t, time.Second)
	const class = "1400000001/bytes"
	if ok, _, err := d.CreateClass(ctx, 1400000001, class, "t", []byte(`{"creator":"t"}`), 0); !ok || err != nil {
		t.Fatalf("create: %v %v", ok, err)
	}
	n := 0
	appendText := func(size, capacity, capBytes int) {
		t.Helper()
		n++
		msg := fmt.Appendf(nil, `{"seq":0,"text":"%s"}`, strings.Repeat("x", size))
		if _, _, ok, err := d.AppendMessage(ctx, class, fmt.Sprint("t/", n), msg, capacity, capBytes, time.Minute); !ok || err != nil {
			t.Fatalf("append %d: %v %v", n, ok, err)
		}
	}
	kept := func() (seqs []int, size int) {
		t.Helper()
		page, _, err := d.History(ctx, class, 0, 1000, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			var seq int
			fmt.Sscanf(string(m), `{"seq":%d`, &seq)
			seqs = append(seqs, seq)
			size += len(m)
		}
		return seqs, size
	}
	sizeKey := d.classKeys(class)[3]
	stored := func() int {
		v, _ := d.rdb.Get(ctx, sizeKey).Int()
		return v
	}

	for range 10 { // 10 × 120 bytes into 500
		appendText(100, 1000, 500)
	}
	if seqs, size := kept(); fmt.Sprint(seqs) != "[7 8 9 10]" || size != stored() {
		t.Fatalf("kept %v (%d bytes, %d counted), want the newest 4 of 120 bytes in 500", seqs, size, stored())
	}
	appendText(2000, 1000, 500)
	if seqs, _ := kept(); fmt.Sprint(seqs) != "[11]" {
		t.Fatalf("after a message over the cap: kept %v, want the newest alone", seqs)
	}
	for range 4 {
		appendText(10, 3, 1<<20)
	}
	if seqs, size := kept(); fmt.Sprint(seqs) != "[13 14 15]" || size != stored() {
		t.Fatalf("kept %v (%d bytes, %d counted), want the newest 3 messages", seqs, size, stored())
	}
	d.rdb.Del(ctx, sizeKey) // as a history kept by an older trtcd
	appendText(10, 1000, 1<<20)
	if seqs, size := kept(); fmt.Sprint(seqs) != "[13 14 15 16]" || size != stored() {
		t.Fatalf("kept %v (%d bytes, %d counted) after measuring an older history", seqs, size, stored())
	}
	if err := d.DestroyClass(ctx, 1400000001, class, "t"); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.rdb.Exists(ctx, sizeKey).Result(); n != 0 {
		t.Fatal("the history's size outlived its class")
	}
}
