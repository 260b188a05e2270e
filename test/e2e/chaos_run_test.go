//go:build e2e

package e2e

import (
	"fmt"
	"time"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

const (
	// convergeLimit is the promise under test: every member streams again
	// within this long after the fault.
	convergeLimit = 60 * time.Second
	// convergeGiveUp is how long a run waits before declaring the cluster
	// broken; between the two the fault fails but the run goes on.
	convergeGiveUp = 3 * time.Minute
	pollInterval   = 200 * time.Millisecond
)

// chaosResult is one row of the summary table.
type chaosResult struct {
	fault, mode, note string
	writable          time.Duration // to one primary (by label and by answer) that acknowledged a write
	streaming         time.Duration // to every member streaming and the cluster Ready
	acked             int           // ids acknowledged from the fault until the check
	lost              []int64       // acknowledged ids newly missing on the primary
	twoPrimaries      int           // samples that saw two primaries
	samples           int           // samples taken in the window
	failed            bool
}

// runFault waits until the cluster is whole, injects the fault and checks
// the promises: never two primaries, one primary taking writes again, every
// member streaming within convergeLimit, and in sync mode no acknowledged
// commit lost. A broken promise fails the test but returns the row, so a
// sequence of faults goes on and its summary shows every outcome; only a
// cluster that does not recover at all stops the run.
func (e *chaosEnv) runFault(fault chaosFault) chaosResult {
	t := e.t
	t.Helper()
	e.waitConverged("before "+fault.name, nil, convergeGiveUp)
	r := chaosResult{fault: fault.name, mode: e.mode}
	badBefore, samplesBefore := len(e.watch.TwoPrimaries(0)), e.watch.Samples()
	failedBefore := t.Failed()

	start := time.Now()
	in, err := fault.inject(e)
	if err != nil {
		t.Fatalf("%s: injecting the fault: %v", fault.name, err)
	}
	r.note = in.note
	t.Logf("%s: injected (%s) in %s", fault.name, in.note, time.Since(start).Round(time.Millisecond))

	r.writable = e.waitWritable(fault.name, start)
	r.streaming = e.waitConverged("after "+fault.name, in.gone, convergeGiveUp).Sub(start)
	if r.streaming > convergeLimit {
		t.Errorf("%s: members streaming again after %s, more than %s", fault.name, r.streaming.Round(time.Millisecond), convergeLimit)
	}
	if in.after != nil {
		if err := in.after(); err != nil {
			t.Errorf("%s: %v", fault.name, err)
		}
	}
	r.lost = e.checkAcked(fault.name)
	r.acked = e.recorder.AckedBetween(start, time.Now())
	for _, s := range e.watch.TwoPrimaries(badBefore) {
		t.Errorf("%s: two primaries seen: %s", fault.name, s)
		r.twoPrimaries++
	}
	r.samples = e.watch.Samples() - samplesBefore
	r.failed = t.Failed() && !failedBefore
	e.results = append(e.results, r)
	t.Logf("%s: one primary taking writes after %s, all streaming after %s, %d acked, %d lost, %d samples",
		fault.name, r.writable.Round(time.Millisecond), r.streaming.Round(time.Millisecond), r.acked, len(r.lost), r.samples)
	return r
}

// waitWritable returns how long after start one primary (exactly one pod
// labelled, not being deleted, and the only member answering as a primary)
// acknowledged a write that began after it was seen so.
func (e *chaosEnv) waitWritable(fault string, start time.Time) time.Duration {
	var seen time.Time
	var last framework.Snapshot
	var took time.Duration
	framework.Eventually(e.t, convergeGiveUp, fault+": one primary taking writes", func() (bool, error) {
		if seen.IsZero() {
			last = e.topo.Sample()
			if _, ok := last.OnePrimary(); !ok {
				return false, framework.Errorf("not one primary: %s", last)
			}
			seen = last.At
		}
		at, ok := e.recorder.FirstAckStartedAfter(seen)
		took = at.Sub(start)
		return ok, framework.Errorf("one primary since %s but no write acknowledged since (recorder: %+v)",
			seen.Format("15:04:05.000"), e.recorder.Stats())
	})
	return took
}

// waitConverged waits until the cluster is whole (see Topology.Converged)
// and returns when it was first seen so.
func (e *chaosEnv) waitConverged(what string, gone map[string]bool, timeout time.Duration) time.Time {
	var at time.Time
	framework.Eventually(e.t, timeout, what+": every member streaming and the cluster Ready", func() (bool, error) {
		err := e.topo.Converged(chaosSize, gone, e.mode == "sync")
		at = time.Now()
		return err == nil, err
	})
	return at
}

// checkAcked looks up every acknowledged id on the primary and returns the
// ones newly missing. In sync mode a missing id fails the test: the
// operator promised that an acknowledged commit survives any single fault.
func (e *chaosEnv) checkAcked(fault string) []int64 {
	p, ok := e.topo.Sample().OnePrimary()
	if !ok {
		e.t.Fatalf("%s: no single primary to check acknowledged ids on", fault)
	}
	var missing []int64
	framework.Eventually(e.t, 30*time.Second, "acknowledged ids read on the primary", func() (bool, error) {
		var err error
		missing, err = framework.MissingIDs(p.IP, e.pw, e.recorder.Acked())
		return err == nil, err
	})
	var fresh []int64
	for _, id := range missing {
		if !e.lost[id] {
			e.lost[id] = true
			fresh = append(fresh, id)
		}
	}
	switch {
	case len(fresh) == 0:
	case e.mode == "sync":
		e.t.Errorf("%s: sync mode lost %d acknowledged commits: ids %s", fault, len(fresh), framework.FormatIDs(fresh, 20))
	default:
		e.t.Logf("%s: async mode lost %d acknowledged commits: ids %s", fault, len(fresh), framework.FormatIDs(fresh, 20))
	}
	return fresh
}

// summaryTable formats the rows, with totals.
func summaryTable(rows []chaosResult) string {
	out := fmt.Sprintf("%-27s %-5s %-19s %9s %10s %6s %5s %8s %7s %s\n", "fault", "mode", "target", "writable", "streaming", "acked", "lost", "2-prim", "samples", "result")
	var acked, lost, two int
	for _, r := range rows {
		res := "ok"
		if r.failed {
			res = "FAIL"
		}
		out += fmt.Sprintf("%-27s %-5s %-19s %8.1fs %9.1fs %6d %5d %8d %7d %s\n", r.fault, r.mode, truncate(r.note, 19),
			r.writable.Seconds(), r.streaming.Seconds(), r.acked, len(r.lost), r.twoPrimaries, r.samples, res)
		acked, lost, two = acked+r.acked, lost+len(r.lost), two+r.twoPrimaries
	}
	out += fmt.Sprintf("%-27s %-5s %-19s %9s %10s %6d %5d %8d\n", fmt.Sprintf("total (%d faults)", len(rows)), "", "", "", "", acked, lost, two)
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
