package main

import (
	"fmt"
	"sort"
	"time"
)

// timeline is what one fault run looked like, from the observer's pod
// events, role samples and the writer's log. Zero times did not happen.
type timeline struct {
	t0         time.Time
	fenced     time.Time // the old primary's pod lost its role label (or was gone)
	gone       time.Time // the old primary's pod was deleted from the API, or fenced in a terminal phase
	promoted   time.Time // another incarnation first answered pg_is_in_recovery() = false
	labelled   time.Time // another pod was labelled primary
	endpoint   time.Time // the -rw EndpointSlice routes to that pod's IP
	firstWrite time.Time // first write acknowledged by another incarnation
	settled    time.Time // Ready again, every member streaming
	newPrimary incarnation
	// overlaps lists pairs of incarnations whose primary intervals overlap.
	overlaps []string
	// lateOldWrites counts writes the old incarnation acknowledged after t0.
	lateOldWrites int
	// splitWrites counts writes the old incarnation acknowledged although
	// they were sent after another incarnation had answered as primary:
	// writes taken by a deposed primary, a safety violation in any mode.
	splitWrites int
}

func (o *observer) timeline(t0 time.Time, old podEvent, oldInc incarnation, log []write) timeline {
	o.mu.Lock()
	defer o.mu.Unlock()
	tl := timeline{t0: t0}
	for _, ev := range o.events {
		if ev.at.Before(t0) {
			continue
		}
		if ev.uid == old.uid && tl.fenced.IsZero() && (ev.deleted || ev.role != "primary" || ev.fenced) {
			tl.fenced = ev.at
		}
		// A fenced pod whose containers have all exited for good is as
		// dead as a deleted one: the operator promotes without waiting.
		if ev.uid == old.uid && (ev.deleted || ev.terminal && ev.role != "primary") && tl.gone.IsZero() {
			tl.gone = ev.at
		}
		if ev.uid != old.uid && !ev.deleted && ev.role == "primary" && tl.labelled.IsZero() {
			tl.labelled = ev.at
		}
	}
	newIP := ""
	for _, ev := range o.events {
		if !tl.labelled.IsZero() && !ev.at.Before(tl.labelled) && ev.uid != old.uid && ev.role == "primary" && ev.ip != "" {
			newIP = ev.ip
			break
		}
	}
	for _, sl := range o.slices {
		if newIP != "" && sl.at.After(t0) && sl.addrs[newIP] {
			tl.endpoint = sl.at
			break
		}
	}
	for _, s := range o.samples {
		if s.primary && s.on != oldInc && s.recv.After(t0) && (tl.promoted.IsZero() || s.recv.Before(tl.promoted)) {
			tl.promoted, tl.newPrimary = s.recv, s.on
		}
	}
	for _, w := range log {
		switch {
		case !w.ok || !w.end.After(t0):
		case w.on == oldInc:
			tl.lateOldWrites++
			if !tl.promoted.IsZero() && w.start.After(tl.promoted) {
				tl.splitWrites++
			}
		case tl.firstWrite.IsZero():
			tl.firstWrite = w.end
		}
	}
	tl.overlaps = primaryOverlaps(o.samples)
	return tl
}

// primaryOverlaps is the never-two-primaries check. Every incarnation
// that ever answered "not in recovery" was a primary at least from when
// its first such query was sent until its last such answer came back;
// two of these intervals overlapping means two primaries may have
// accepted writes at once. (Stricter than comparing samples taken at the
// same instant: it also catches a primary that was not sampled just then.)
func primaryOverlaps(samples []roleSample) []string {
	type span struct {
		inc         incarnation
		first, last time.Time
	}
	spans := map[incarnation]*span{}
	for _, s := range samples {
		if !s.primary {
			continue
		}
		sp := spans[s.on]
		if sp == nil {
			sp = &span{inc: s.on, first: s.sent, last: s.recv}
			spans[s.on] = sp
		}
		if s.sent.Before(sp.first) {
			sp.first = s.sent
		}
		if s.recv.After(sp.last) {
			sp.last = s.recv
		}
	}
	var list []*span
	for _, sp := range spans {
		list = append(list, sp)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].first.Before(list[j].first) })
	var out []string
	for i := range list {
		for j := i + 1; j < len(list); j++ {
			a, b := list[i], list[j]
			if b.first.Before(a.last) {
				out = append(out, fmt.Sprintf("%s primary until %s, %s primary from %s",
					a.inc, a.last.Format("15:04:05.000"), b.inc, b.first.Format("15:04:05.000")))
			}
		}
	}
	return out
}

// missing marks a step that did not happen (or was not observed).
const missing = time.Duration(-1)

// step is the time from a to b (0 if b came first), or missing.
func step(a, b time.Time) time.Duration {
	if a.IsZero() || b.IsZero() {
		return missing
	}
	return max(b.Sub(a), 0)
}
