package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// write prints the report: the good rooms, the server before, during and
// after, every hostile client with what the server did to it, and the
// targets.
func (r *soakReport) write(w io.Writer) {
	fmt.Fprintf(w, "\ntrtcd chaos soak: %d good rooms from 127.0.0.1, hostile clients from 127.0.0.2-9 for %s, then %s of recovery (server pid %d)\n",
		r.cfg.Rooms, secs(r.cfg.Duration), secs(r.cfg.Recovery), r.pid)
	fmt.Fprintf(w, "machine: %d cores; other work kept %.2f cores busy on average; the load generator's longest stall %.1f s\n",
		cores(), r.otherCores, r.generatorStall.Seconds())
	if r.busy() {
		fmt.Fprintln(w, "WARNING: "+r.busyNote())
	}
	fmt.Fprintln(w)
	r.writeRooms(w)
	r.writeServer(w)
	r.writeAttacks(w)
	r.writeTargets(w)
	if r.firstPanic != "" {
		fmt.Fprintf(w, "\nthe first panic the server logged:\n%s\n", r.firstPanic)
	}
	if r.lastLog != "" {
		fmt.Fprintf(w, "\nthe server exited (%s); its last log lines:\n%s\n", r.exit, r.lastLog)
	}
	if r.heapAtPeak != "" {
		fmt.Fprintf(w, "\nheap in use near the attack's peak over the baseline, by call site (go tool pprof -top -inuse_space -diff_base):\n%s\n", r.heapAtPeak)
	}
	if r.heapAfter != "" {
		fmt.Fprintf(w, "\nlive heap %s after the attack over the baseline's (both after a GC):\n%s\n", secs(r.cfg.Recovery), r.heapAfter)
	}
	if r.goroutinesLeft != "" {
		fmt.Fprintf(w, "\ngoroutines %s after the attack that were not there at the baseline, by stack:\n%s", secs(r.cfg.Recovery), r.goroutinesLeft)
	}
	if r.cfg.ProfileDir != "" {
		fmt.Fprintf(w, "\nheap profiles (baseline, peak, after): %s\n", r.profiles)
	} else {
		fmt.Fprintln(w, "\n(SOAK_PROFILE_DIR=DIR keeps the server's heap profiles: baseline, peak, after)")
	}
	fmt.Fprintln(w)
}

func (r *soakReport) writeRooms(w io.Writer) {
	fmt.Fprintln(w, "good rooms, from the attack's start to the end of the recovery:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  kind\trooms\treceived / expected\tdelivery\tlongest gap\t")
	for _, k := range r.kinds {
		fmt.Fprintf(tw, "  %s\t%d\t%d / %d %s\t%.3f %%\t%.1f s (room %s)\t\n", k.label, k.rooms, k.received, k.expected, k.unit,
			100*k.delivery(), k.longestGap.Seconds(), k.gapRoom)
	}
	rcv, exp := r.overall()
	fmt.Fprintf(tw, "  all\t%d\t%d / %d\t%.3f %%\t\t\n", r.cfg.Rooms, rcv, exp, 100*ratioOf(rcv, exp))
	tw.Flush()
	for _, k := range r.kinds {
		for _, p := range k.problems {
			fmt.Fprintf(w, "  note: %s\n", p)
		}
	}
	fmt.Fprintln(w)
}

func (r *soakReport) writeServer(w io.Writer) {
	fmt.Fprintln(w, "server:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	after := fmt.Sprintf("%s after", secs(r.cfg.Recovery))
	fmt.Fprintf(tw, "  \tbefore\tpeak (attack)\t%s\ttarget\t\n", after)
	f := func(v float64, err error) string {
		if err != nil {
			return "unread"
		}
		return fmt.Sprintf("%.1f", v)
	}
	n := func(v float64, err error) string {
		if err != nil {
			return "unread"
		}
		return fmt.Sprintf("%.0f", v)
	}
	fmt.Fprintf(tw, "  RSS MiB (/proc)\t%.1f\t%.1f\t%s\t(Go returns freed memory over minutes)\t\n", r.before.RSSMiB, r.peak.RSSMiB, f(r.after.RSSMiB, r.after.Err))
	fmt.Fprintf(tw, "  RSS held MiB (less freed, not yet returned)\t%.1f\t%.1f\t%s\t\t\n", r.before.HeldMiB, r.peak.HeldMiB, f(r.after.HeldMiB, r.after.Err))
	fmt.Fprintf(tw, "  RSS held MiB, right after a forced GC\t%.1f\t\t%.1f\t≤ %.1f (+%.0f %%)\t\n", r.heldBefore, r.heldAfter, r.rssLimit(), 100*r.cfg.RSSSlack)
	fmt.Fprintf(tw, "  Go heap in use MiB\t%.1f\t%.1f\t%s\t\t\n", r.before.HeapMiB, r.peak.HeapMiB, f(r.after.HeapMiB, r.after.Err))
	fmt.Fprintf(tw, "  live heap MiB (after a GC)\t%.1f\t\t%.1f\t(for leaks: RSS lags it)\t\n", r.liveBefore, r.liveAfter)
	fmt.Fprintf(tw, "  goroutines\t%.0f\t%.0f\t%s\t≤ %.0f (+%d)\t\n", r.before.Goroutines, r.peak.Goroutines, n(r.after.Goroutines, r.after.Err),
		r.goroutineLimit(), r.cfg.GoroutineSlack)
	fmt.Fprintf(tw, "  panics recovered\t%.0f\t%.0f\t%s\t0\t\n", r.before.Panics, r.peak.Panics, n(r.after.Panics, r.after.Err))
	tw.Flush()
	if len(r.recovery) > 0 {
		fmt.Fprint(w, "  recovery, each second (RSS MiB / heap MiB / goroutines):")
		for i, s := range r.recovery {
			if s.Err != nil {
				fmt.Fprintf(w, " %d: unread", i+1)
				continue
			}
			fmt.Fprintf(w, " %d: %.0f/%.0f/%.0f", i+1, s.RSSMiB, s.HeapMiB, s.Goroutines)
		}
		fmt.Fprintln(w)
	}
	if r.recoveredIn > 0 {
		fmt.Fprintf(w, "  RSS and goroutines were back within the targets %.0f s after the attack\n", r.recoveredIn.Seconds())
	}
	if len(r.after.ByPart) > 0 {
		fmt.Fprintf(w, "  panics by component: %v\n", r.after.ByPart)
	}
	fmt.Fprintf(w, "  /metrics unanswered (5 s timeout) during the attack: %d of %d samples\n", r.unanswered, r.samples)
	fmt.Fprintf(w, "  log lines during the attack: %d (%.0f a second)\n", r.attackLogLines, float64(r.attackLogLines)/max(r.attackFor.Seconds(), 1))
	for _, m := range r.topMessages {
		fmt.Fprintf(w, "    %s\n", m)
	}
	fmt.Fprintf(w, "  UDP datagrams the kernel dropped for full receive buffers (machine-wide): %d\n", r.udpDrops)
	if r.attackersLingered {
		fmt.Fprintln(w, "  note: a hostile client had not stopped 15 s after the attack's end (the bench's bug, not the server's)")
	}
	fmt.Fprintln(w)
}

// writeAttacks gives each hostile client two lines: what it is, then
// what it tried and what the server did.
func (r *soakReport) writeAttacks(w io.Writer) {
	fmt.Fprintln(w, "hostile clients (tries: connections, requests or sessions; sent: frames, tags or datagrams; held: how long the")
	fmt.Fprintln(w, "server kept the sockets it closed itself, median / max):")
	for _, a := range r.attacks {
		tries, outcomes, holds := a.summary()
		fmt.Fprintf(w, "  %-9s %-9s  %s\n", a.listener, a.from, a.name)
		if holds != "" {
			outcomes += "; held " + holds
		}
		fmt.Fprintf(w, "      %s tries: %s\n", tries, outcomes)
	}
	fmt.Fprintln(w)
}

func (r *soakReport) writeTargets(w io.Writer) {
	fmt.Fprintln(w, "targets:")
	for _, t := range r.targets() {
		if t.miss == "" {
			fmt.Fprintf(w, "  ok      %s\n", t.name)
		} else {
			fmt.Fprintf(w, "  MISSED  %s\n", t.miss)
		}
	}
}

// soakTarget is one target and, when missed, why.
type soakTarget struct{ name, miss string }

// targets checks every target: the server alive, each kind of good room
// delivered and never silent for long, no panic, RSS and goroutines back.
func (r *soakReport) targets() []soakTarget {
	var out []soakTarget
	alive := soakTarget{name: "the server is alive at the end"}
	if !r.alive {
		alive.miss = "the server exited during the soak: " + r.exit
	}
	out = append(out, alive)
	for _, k := range r.kinds {
		out = append(out, r.deliveryTarget(k), r.gapTarget(k))
	}
	p := soakTarget{name: "no panic recovered (trtcd_panics_total, and the log)"}
	if n := r.panics(); n > 0 {
		parts := r.after.ByPart
		if len(parts) == 0 {
			parts = r.peak.ByPart
		}
		p.miss = fmt.Sprintf("panics: %.0f recovered (%s)", n, partsOf(parts))
	}
	out = append(out, p, r.rssTarget(), r.goroutineTarget())
	return out
}

func (r *soakReport) deliveryTarget(k soakKindResult) soakTarget {
	t := soakTarget{name: fmt.Sprintf("%s: delivery ≥ %.0f %%", k.label, 100*r.cfg.MinDelivery)}
	if k.delivery() < r.cfg.MinDelivery {
		t.miss = fmt.Sprintf("%s: delivery %.3f %% < %.0f %% (%d of %d %s missing)", k.label, 100*k.delivery(), 100*r.cfg.MinDelivery,
			k.expected-min(k.received, k.expected), k.expected, k.unit)
		if len(k.problems) > 0 {
			t.miss += "; " + strings.Join(k.problems, "; ")
		}
		if r.busy() {
			t.miss += " (" + r.busyNote() + ")"
		}
	}
	return t
}

// gapTarget allows a room MaxGap without media, plus the longest time the
// load generator itself could not run: its own stall delays what its
// viewers read by as much, and is the machine's, not the server's.
func (r *soakReport) gapTarget(k soakKindResult) soakTarget {
	allowed := r.cfg.MaxGap + r.generatorStall
	t := soakTarget{name: fmt.Sprintf("%s: no room without media for more than %s (+ the load generator's own stall, %.1f s)",
		k.label, secs(r.cfg.MaxGap), r.generatorStall.Seconds())}
	if k.longestGap > allowed {
		t.miss = fmt.Sprintf("%s: room %s got no media for %.1f s (at most %.1f s)", k.label, k.gapRoom, k.longestGap.Seconds(), allowed.Seconds())
		if r.busy() {
			t.miss += " (" + r.busyNote() + ")"
		}
	}
	return t
}

func (r *soakReport) rssTarget() soakTarget {
	t := soakTarget{name: fmt.Sprintf("RSS held (after a GC) back within +%.0f %% of the baseline %s after the attack", 100*r.cfg.RSSSlack, secs(r.cfg.Recovery))}
	switch {
	case r.after.Err != nil:
		t.miss = fmt.Sprintf("RSS after the attack: unread (%v)", r.after.Err)
	case !r.rssBackAfterGC():
		t.miss = fmt.Sprintf("RSS held after a GC %.1f MiB %s after the attack > %.1f MiB (baseline %.1f MiB + %.0f %%; live heap %.1f MiB, was %.1f)",
			r.heldAfter, secs(r.cfg.Recovery), r.rssLimit(), r.heldBefore, 100*r.cfg.RSSSlack, r.liveAfter, r.liveBefore)
	}
	return t
}

func (r *soakReport) goroutineTarget() soakTarget {
	t := soakTarget{name: fmt.Sprintf("goroutines back within +%d of the baseline %s after the attack", r.cfg.GoroutineSlack, secs(r.cfg.Recovery))}
	switch {
	case r.after.Err != nil:
		t.miss = fmt.Sprintf("goroutines after the attack: unread (%v)", r.after.Err)
	case !r.goroutinesBack(r.after):
		t.miss = fmt.Sprintf("goroutines %.0f %s after the attack > %.0f (baseline %.0f + %d; the stacks below show what stayed)",
			r.after.Goroutines, secs(r.cfg.Recovery), r.goroutineLimit(), r.before.Goroutines, r.cfg.GoroutineSlack)
	}
	return t
}

func (r *soakReport) busyNote() string {
	return fmt.Sprintf("the machine was busy: other work kept %.2f of %d cores busy, the load generator stalled up to %.1f s; "+
		"delivery and gaps may be the machine's, not the server's: rerun on a quiet machine", r.otherCores, cores(), r.generatorStall.Seconds())
}

// missed lists the reasons of the targets missed.
func (r *soakReport) missed() []string {
	var out []string
	for _, t := range r.targets() {
		if t.miss != "" {
			out = append(out, t.miss)
		}
	}
	return out
}

func partsOf(m map[string]float64) string {
	if len(m) == 0 {
		return "components not read"
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
