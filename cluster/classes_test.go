package cluster

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// A class's history keeps its newest messages, numbered without gaps, and
// pages from any number; a destroyed class takes no messages.
func TestClassHistoryKeepsTheNewestAndPages(t *testing.T) {
	ctx := context.Background()
	d := newTestDirectory(t, time.Second)
	const class = "1400000001/77"
	if ok, err := d.CreateClass(ctx, 1400000001, class, []byte(`{"creator":"t"}`)); !ok || err != nil {
		t.Fatalf("create: %v %v", ok, err)
	}
	if ok, _ := d.CreateClass(ctx, 1400000001, class, []byte(`{}`)); ok {
		t.Fatal("a class was created twice")
	}
	for i := 1; i <= 5; i++ {
		seq, retry, ok, err := d.AppendMessage(ctx, class, fmt.Sprint("t/", i), fmt.Appendf(nil, `{"seq":0,"text":"m%d"}`, i), 3)
		if err != nil || !ok || retry || seq != uint64(i) {
			t.Fatalf("append %d: seq %d retry %v %v %v", i, seq, retry, ok, err)
		}
	}
	// A retry of the second send is answered with its number, not stored
	// or numbered again.
	if seq, retry, ok, err := d.AppendMessage(ctx, class, "t/2", []byte(`{"seq":0,"text":"again"}`), 3); seq != 2 || !retry || !ok || err != nil {
		t.Fatalf("retry: seq %d retry %v %v %v; want 2, a retry", seq, retry, ok, err)
	}
	for _, c := range []struct {
		after, limit int
		want         string
		more         bool
	}{{0, 10, "345", false}, {3, 1, "4", true}, {4, 10, "5", false}, {5, 10, "", false}} {
		msgs, more, err := d.History(ctx, class, uint64(c.after), c.limit)
		got := ""
		for _, m := range msgs {
			got += string(m[len(`{"seq":`)]) // one digit here
		}
		if err != nil || got != c.want || more != c.more {
			t.Errorf("history after %d (limit %d) = %q more %v %v; want %q more %v", c.after, c.limit, got, more, err, c.want, c.more)
		}
	}
	if _, last, ok, _ := d.Class(ctx, class); !ok || last != 5 {
		t.Fatalf("class: ok %v last %d", ok, last)
	}
	if _, _, _, err := d.AppendMessage(ctx, class, "t/6", []byte(`{"text":"x"}`), 3); !errors.Is(err, ErrNotNumbered) {
		t.Fatalf("an unnumbered message: %v", err)
	}
	if err := d.DestroyClass(ctx, 1400000001, class); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := d.AppendMessage(ctx, class, "t/7", []byte(`{"seq":0}`), 3); ok || err != nil {
		t.Fatalf("append to a destroyed class: ok %v %v", ok, err)
	}
	if keys, _ := d.Classes(ctx, 1400000001); len(keys) != 0 {
		t.Fatalf("classes after destroy: %v", keys)
	}
}

// Classes whose keys look like another class's keys plus a suffix stay
// apart, in Redis and on the channel.
func TestClassKeysCannotCollide(t *testing.T) {
	ctx := context.Background()
	d := newTestDirectory(t, time.Second)
	a, b := "1400000001/s:foo", "1400000001/s:foo:seq"
	for _, c := range []string{b, a} { // b first: its record must not be a's counter
		if ok, err := d.CreateClass(ctx, 1400000001, c, []byte(`{}`)); !ok || err != nil {
			t.Fatalf("create %s: %v %v", c, ok, err)
		}
	}
	for i := range 2 {
		if seq, _, ok, err := d.AppendMessage(ctx, a, fmt.Sprint("u/", i), []byte(`{"seq":0}`), 10); seq != uint64(i+1) || !ok || err != nil {
			t.Fatalf("append to %s: seq %d %v %v", a, seq, ok, err)
		}
	}
	if _, last, ok, _ := d.Class(ctx, b); !ok || last != 0 {
		t.Fatalf("%s: ok %v, last %d; want its own, empty", b, ok, last)
	}
	ev := ClassEvent{Kind: ClassMessage, Class: "1400000001/s:x\ny", Body: []byte("a\nb")}
	if got, ok := parseClassEvent(ev.encode()); !ok || got.Class != ev.Class || string(got.Body) != "a\nb" {
		t.Fatalf("event %+v came back as %+v", ev, got)
	}
}
