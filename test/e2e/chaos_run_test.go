//go:build e2e

package e2e

import (
	"fmt"
	"strings"
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
)

// chaosResult is one row of the summary table.
type chaosResult struct {
	fault, mode, note string
	writable          time.Duration // from the fault to one primary (by label and by answer) that acknowledged a write
	streaming         time.Duration // from the fault to every member streaming and the cluster Ready
	acked             int           // ids acknowledged from the injection until the check
	lost              []int64       // acknowledged ids newly missing on the primary
	twoPrimaries      int           // samples that saw two primaries, plus overlapping primary intervals
	samples           int           // samples taken in the window
	primary           string        // the primary after the fault
	failed            bool
}

// errorf fails the test and marks the row.
func (e *chaosEnv) errorf(r *chaosResult, format string, args ...any) {
	e.t.Helper()
	r.failed = true
	framework.Fail(e.t, r.fault+": "+format, args...)
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
	before := e.currentPrimary("before " + fault.name)

	injectAt := time.Now()
	in, err := fault.inject(e)
	if err != nil {
		framework.Fatalf(t, "%s: injecting the fault: %v", fault.name, err)
	}
	// Should the cluster never recover (a Fatal below), still report
	// whether two primaries ran: that is the first thing to know.
	checked := false
	defer func() {
		if !checked {
			e.checkPrimaryIntervals(&r, expectEither, before, framework.PrimaryState{}, injectAt)
		}
	}()
	// Times count from when the fault took effect: stopping the API server
	// alone takes seconds, during which nothing is broken yet.
	start := time.Now()
	r.note = in.note
	t.Logf("%s: injected (%s) in %s", fault.name, in.note, start.Sub(injectAt).Round(time.Millisecond))

	failuresBefore := e.recorder.Stats().Failures
	r.writable = e.waitWritable(fault.name, start)
	if st := e.recorder.Stats(); r.writable > 10*time.Second {
		t.Logf("%s: %d writes failed before one was acknowledged; the last error: %s", fault.name, st.Failures-failuresBefore, st.LastError)
	}
	r.streaming = e.waitConverged("after "+fault.name, in.gone, convergeGiveUp).Sub(start)
	if r.streaming > convergeLimit {
		e.errorf(&r, "members streaming again after %s, more than %s", r.streaming.Round(time.Millisecond), convergeLimit)
	}
	if in.after != nil {
		if err := in.after(); err != nil {
			e.errorf(&r, "%v", err)
		}
	}
	after := e.currentPrimary("after " + fault.name)
	r.primary = after.Name
	e.checkPrimaryOutcome(&r, fault.expect, before, after, injectAt)
	checked = true
	e.checkPrimaryIntervals(&r, fault.expect, before, after, injectAt)
	r.lost = e.newlyLost(fault.name)
	e.checkLost(&r, after)
	r.acked = e.recorder.AckedBetween(injectAt, time.Now())
	for _, s := range e.watch.TwoPrimaries(badBefore) {
		e.errorf(&r, "two primaries seen at %s: %s", s.At.Format("15:04:05.000"), s)
		r.twoPrimaries++
	}
	r.samples = e.watch.Samples() - samplesBefore
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
	var took time.Duration
	framework.Eventually(e.t, convergeGiveUp, fault+": one primary taking writes", func() (bool, error) {
		if seen.IsZero() {
			s := e.topo.Sample()
			if _, ok := s.OnePrimary(); !ok {
				return false, framework.Errorf("not one primary: %s", s)
			}
			seen = s.At
		}
		at, ok := e.recorder.FirstAckStartedAfter(seen)
		took = at.Sub(start)
		return ok, framework.Errorf("one primary since %s but no write acknowledged since (recorder: %+v)",
			seen.Format("15:04:05.000"), e.recorder.Stats())
	})
	return took
}

// waitConverged waits until the cluster is whole (see Topology.Converged)
// and returns when it was first seen so. A convergence slower than
// convergeLimit logs what it waited for.
func (e *chaosEnv) waitConverged(what string, gone map[string]bool, timeout time.Duration) time.Time {
	start := time.Now()
	var at time.Time
	var steps []string
	framework.Eventually(e.t, timeout, what+": every member streaming and the cluster Ready", func() (bool, error) {
		err := e.topo.Converged(chaosSize, gone, e.mode == "sync")
		at = time.Now()
		if err != nil && (len(steps) == 0 || !strings.HasSuffix(steps[len(steps)-1], err.Error())) {
			steps = append(steps, fmt.Sprintf("%6.1fs %v", at.Sub(start).Seconds(), err))
		}
		return err == nil, err
	})
	if at.Sub(start) > convergeLimit {
		e.t.Logf("%s: converged after %s; waited for:\n%s\nmember logs now:\n%s", what, at.Sub(start).Round(time.Millisecond),
			strings.Join(steps, "\n"), e.topo.MemberLogs(25))
	}
	return at
}

// newlyLost looks up every acknowledged id on the primary and returns
// the ones missing that were not missing before.
func (e *chaosEnv) newlyLost(fault string) []int64 {
	p, ok := e.topo.Sample().OnePrimary()
	if !ok {
		framework.Fatalf(e.t, "%s: no single primary to check acknowledged ids on", fault)
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
