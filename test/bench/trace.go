package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// trace renders one run as a timeline relative to the fault: pod changes,
// -rw endpoints, role changes of each postmaster, the writer's outcomes
// (consecutive equal outcomes collapsed), the host kube-proxy's rule syncs
// (with --trace) and what settling waited for.
func (o *observer) trace(t0 time.Time, log []write, proxy []proxySync, settleLog []string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	type line struct {
		at   time.Time
		text string
	}
	var lines []line
	add := func(at time.Time, format string, args ...any) {
		lines = append(lines, line{at, fmt.Sprintf(format, args...)})
	}
	for _, ev := range o.events {
		deleting := "no"
		if ev.deleting {
			deleting = fmt.Sprintf("grace %ds", ev.grace)
		}
		add(ev.at, "pod %s uid=%.8s role=%q fenced=%t deleting=%s deleted=%t ip=%s", ev.name, ev.uid, ev.role, ev.fenced, deleting, ev.deleted, ev.ip)
	}
	for _, sl := range o.slices {
		var a []string
		for ip := range sl.addrs {
			a = append(a, ip)
		}
		sort.Strings(a)
		add(sl.at, "-rw endpoints %v", a)
	}
	last := map[string]string{}
	for _, s := range o.samples {
		state := "replica"
		if s.primary {
			state = "PRIMARY"
		}
		if key := s.on.String(); last[key] != state {
			last[key] = state
			add(s.recv, "%s answers %s", key, state)
		}
	}
	for _, p := range proxy {
		add(p.ended, "kube-proxy: %d rules sync(s) ended, %.3f s in all", p.syncs, p.took.Seconds())
	}
	var prev string
	var count int
	var first write
	flush := func() {
		if count > 0 {
			add(first.start, "writer: %d× %s", count, prev)
		}
	}
	for _, w := range log {
		outcome := "ok on " + w.on.member
		if !w.ok {
			outcome = "error: " + truncate(w.err, 90)
		}
		if outcome != prev {
			flush()
			prev, count, first = outcome, 0, w
		}
		count++
	}
	flush()
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].at.Before(lines[j].at) })
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "    %+8.3fs %s\n", l.at.Sub(t0).Seconds(), l.text)
	}
	for _, s := range settleLog {
		fmt.Fprintf(&b, "    settle: %s\n", s)
	}
	return b.String()
}
