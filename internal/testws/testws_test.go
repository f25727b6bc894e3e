package testws

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that notes a failure instead of ending the test.
type recorder struct {
	testing.TB
	failure string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	if r.failure == "" {
		r.failure = fmt.Sprintf(format, args...)
	}
}

// member is a Member whose events are already in, in this order, and
// whose connection then ended: no wait depends on the clock.
func member(t *testing.T, events ...string) (*Member, *recorder) {
	r := &recorder{TB: t}
	m := &Member{t: r, Events: make(chan string, len(events))}
	for _, e := range events {
		m.Events <- e
	}
	close(m.Events)
	return m, r
}

func TestExpectAllTakesTheSetInAnyOrder(t *testing.T) {
	for _, c := range []struct {
		name   string
		events []string
		ignore []string
		want   []string
		fails  string // part of the failure; "" when none
	}{
		{"in order", []string{"a", "b", "c"}, nil, []string{"a", "b", "c"}, ""},
		{"in another order", []string{"c", "a", "b"}, nil, []string{"a", "b", "c"}, ""},
		{"one missing", []string{"b", "a"}, nil, []string{"a", "b", "c"}, `no events ["c"] before the connection ended`},
		{"an unexpected one", []string{"a", "x", "b"}, nil, []string{"a", "b"}, `got event "x"`},
		{"an ignored one, twice", []string{"x", "a", "x", "b"}, []string{"x"}, []string{"a", "b"}, ""},
		{"a duplicate wanted twice", []string{"a", "b"}, nil, []string{"a", "a", "b"}, `no events ["a"]`},
		{"one too many of a kind", []string{"a", "a"}, nil, []string{"a"}, ""}, // the second stays for the next wait
	} {
		t.Run(c.name, func(t *testing.T) {
			m, r := member(t, c.events...)
			m.ExpectAllIgnoring(time.Minute, c.ignore, c.want...)
			if got := r.failure; (got == "") != (c.fails == "") || !strings.Contains(got, c.fails) {
				t.Fatalf("failure %q, want one with %q (none when empty)", got, c.fails)
			}
		})
	}
}
