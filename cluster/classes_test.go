package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A class's history keeps its newest messages, numbered without gaps, and
// pages from any number; a destroyed class takes no messages.
func TestClassHistoryKeepsTheNewestAndPages(t *testing.T) {
	ctx := context.Background()
	d := newTestDirectory(t, time.Second)
	const class = "1400000001/77"
	if ok, _, err := d.CreateClass(ctx, 1400000001, class, "t", []byte(`{"creator":"t"}`), 0); !ok || err != nil {
		t.Fatalf("create: %v %v", ok, err)
	}
	if ok, _, _ := d.CreateClass(ctx, 1400000001, class, "t", []byte(`{}`), 0); ok {
		t.Fatal("a class was created twice")
	}
	for i := 1; i <= 5; i++ {
		seq, retry, ok, err := d.AppendMessage(ctx, class, fmt.Sprint("t/", i), fmt.Appendf(nil, `{"seq":0,"text":"m%d"}`, i), 3, 1<<20, time.Minute)
		if err != nil || !ok || retry || seq != uint64(i) {
			t.Fatalf("append %d: seq %d retry %v %v %v", i, seq, retry, ok, err)
		}
	}
	// A retry of the second send is answered with its number, not stored
	// or numbered again.
	if seq, retry, ok, err := d.AppendMessage(ctx, class, "t/2", []byte(`{"seq":0,"text":"again"}`), 3, 1<<20, time.Minute); seq != 2 || !retry || !ok || err != nil {
		t.Fatalf("retry: seq %d retry %v %v %v; want 2, a retry", seq, retry, ok, err)
	}
	for _, c := range []struct {
		after, limit int
		want         string
		more         bool
	}{{0, 10, "345", false}, {3, 1, "4", true}, {4, 10, "5", false}, {5, 10, "", false}} {
		msgs, more, err := d.History(ctx, class, uint64(c.after), c.limit, 1<<20)
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
	if _, _, _, err := d.AppendMessage(ctx, class, "t/6", []byte(`{"text":"x"}`), 3, 1<<20, time.Minute); !errors.Is(err, ErrNotNumbered) {
		t.Fatalf("an unnumbered message: %v", err)
	}
	if err := d.DestroyClass(ctx, 1400000001, class, "t"); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := d.AppendMessage(ctx, class, "t/7", []byte(`{"seq":0}`), 3, 1<<20, time.Minute); ok || err != nil {
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
		if ok, _, err := d.CreateClass(ctx, 1400000001, c, "t", []byte(`{}`), 0); !ok || err != nil {
			t.Fatalf("create %s: %v %v", c, ok, err)
		}
	}
	for i := range 2 {
		if seq, _, ok, err := d.AppendMessage(ctx, a, fmt.Sprint("u/", i), []byte(`{"seq":0}`), 10, 1<<20, time.Minute); seq != uint64(i+1) || !ok || err != nil {
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

// A history page holds the messages that fit its bytes (each counted with
// a comma), at least one however big, and says whether more follow.
func TestClassHistoryPagesInBytes(t *testing.T) {
	ctx := context.Background()
	d := newTestDirectory(t, time.Second)
	const class = "1400000001/78"
	d.CreateClass(ctx, 1400000001, class, "t", []byte(`{}`), 0)
	sizes := []int{100, 100, 100, 500, 100} // message 4 is bigger than the page
	for i, n := range sizes {
		msg := fmt.Appendf(nil, `{"seq":0,"text":"%s"}`, strings.Repeat("x", n))
		if _, _, _, err := d.AppendMessage(ctx, class, fmt.Sprint("t/", i), msg, 100, 1<<20, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	length := func(seq int) int { return len(fmt.Sprintf(`{"seq":%d,"text":""}`, seq)) + sizes[seq-1] + 1 }
	budget := length(1) + length(2) // two of the small ones
	for _, c := range []struct {
		after int
		want  []int
		more  bool
	}{{0, []int{1, 2}, true}, {2, []int{3}, true}, {3, []int{4}, true}, {4, []int{5}, false}} {
		msgs, more, err := d.History(ctx, class, uint64(c.after), 100, budget)
		var got []int
		for _, m := range msgs {
			var seq struct{ Seq int }
			json.Unmarshal(m, &seq)
			got = append(got, seq.Seq)
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) || more != c.more {
			t.Errorf("history after %d in %d bytes: %v more %v %v; want %v more %v", c.after, budget, got, more, err, c.want, c.more)
		}
	}
}

// A creator may have perCreator counted classes: one more is refused as
// full until one is destroyed; classes created without a bound do not
// count, and an existing class is reported as existing.
func TestClassesPerCreatorAreBounded(t *testing.T) {
	ctx := context.Background()
	d := newTestDirectory(t, time.Second)
	create := func(class string, perCreator int) (bool, bool) {
		t.Helper()
		created, full, err := d.CreateClass(ctx, 1400000001, class, "t", []byte(`{}`), perCreator)
		if err != nil {
			t.Fatal(err)
		}
		return created, full
	}
	for _, c := range []string{"1400000001/1", "1400000001/2"} {
		if created, full := create(c, 2); !created || full {
			t.Fatalf("create %s: created %v full %v", c, created, full)
		}
	}
	if created, full := create("1400000001/3", 2); created || !full {
		t.Fatalf("a third: created %v full %v; want full", created, full)
	}
	if created, full := create("1400000001/1", 2); created || full {
		t.Fatalf("an existing one: created %v full %v; want exists", created, full)
	}
	if created, _ := create("1400000001/4", 0); !created {
		t.Fatal("an uncounted class was refused")
	}
	if err := d.DestroyClass(ctx, 1400000001, "1400000001/2", "t"); err != nil {
		t.Fatal(err)
	}
	if created, full := create("1400000001/3", 2); !created || full {
		t.Fatalf("after a destroy: created %v full %v", created, full)
	}
}

// Pages longer than the script's reads of 32 come whole.
func TestClassHistoryPagesSpanReads(t *testing.T) {
	ctx := context.Background()
	d := newTestDirectory(t, time.Second)
	const class = "1400000001/79"
	d.CreateClass(ctx, 1400000001, class, "t", []byte(`{}`), 0)
	for i := range 70 {
		if _, _, _, err := d.AppendMessage(ctx, class, fmt.Sprint("t/", i), []byte(`{"seq":0}`), 100, 1<<20, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		after, limit, want int
		more               bool
	}{{0, 1000, 70, false}, {0, 40, 40, true}, {5, 64, 64, true}, {5, 65, 65, false}} {
		msgs, more, err := d.History(ctx, class, uint64(c.after), c.limit, 1<<20)
		if err != nil || len(msgs) != c.want || more != c.more || string(msgs[0]) != fmt.Sprintf(`{"seq":%d}`, c.after+1) {
			t.Errorf("history after %d, limit %d: %d messages more %v %v; want %d from seq %d, more %v", c.after, c.limit, len(msgs), more, err, c.want, c.after+1, c.more)
		}
	}
}
