package main

import (
	"fmt"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// runViolations lists what one fault run did that the operator promises
// never happens. Any of them fails the bench: a fast failover that breaks
// these is worthless. Failed runs are judged on what was observed.
func runViolations(r runResult) []string {
	var out []string
	for _, o := range r.tl.overlaps {
		out = append(out, "two primaries: "+o)
	}
	for _, l := range r.labelErrs {
		out = append(out, "two pods labelled primary: "+l)
	}
	// The observer records both; the maximum alone still counts if the
	// detail was somehow not recorded.
	if r.labelsMax > 1 && len(r.labelErrs) == 0 {
		out = append(out, fmt.Sprintf("two pods labelled primary: %d at once", r.labelsMax))
	}
	if r.tl.splitWrites > 0 {
		out = append(out, fmt.Sprintf("the old primary acknowledged %d writes sent after another postmaster was promoted", r.tl.splitWrites))
	}
	// Async mode may lose the replication lag by design; sync mode may not.
	if r.mode == v1alpha1.ReplicationSync && r.lost > 0 {
		out = append(out, fmt.Sprintf("%d of %d acknowledged commits lost in sync mode", r.lost, r.acked))
	}
	return out
}

// safetyViolations is every violation of every run, named by its run.
func safetyViolations(rs []runResult) []string {
	var out []string
	for _, r := range rs {
		for _, v := range runViolations(r) {
			out = append(out, fmt.Sprintf("%s %s run %d: %s", r.mode, r.fault, r.run, v))
		}
	}
	return out
}

// failedRuns names the runs that did not complete. They are reported, not
// fatal: a run spoilt by the shared cluster is not the operator's fault,
// and the summary counts them so that they are not missed either.
func failedRuns(rs []runResult) []string {
	var out []string
	for _, r := range rs {
		if r.err != "" {
			out = append(out, fmt.Sprintf("%s %s run %d failed: %s", r.mode, r.fault, r.run, firstLine(r.err)))
		}
	}
	return out
}

// safetyTable is the safety findings of the fault runs and how they were
// checked; the SAFETY VIOLATIONS block at the end repeats the violations.
func safetyTable(rs []runResult) *table {
	t := newTable(fmt.Sprintf("Safety checks over %d fault runs", len(rs)), "finding")
	for _, v := range safetyViolations(rs) {
		t.add("✗ VIOLATION " + v)
	}
	if len(t.rows) == 1 {
		t.add("no violation: never two primaries, never two pods labelled primary, no write taken by a deposed primary, " +
			"no acknowledged commit lost in sync mode")
	}
	for _, f := range failedRuns(rs) {
		t.add(f)
	}
	t.note("never-two-primaries checker: a connection per member pod IP (kept, re-opened on error) asks pg_is_in_recovery(),")
	t.note("  cluster_name and pg_postmaster_start_time() every 50 ms; IPs of deleted pods stay polled (a --force'd pod may still run).")
	t.note("  Each postmaster that answered 'not in recovery' was primary at least from its first such query's send time to its")
	t.note("  last such answer's receive time; any overlap between two postmasters' intervals is reported. A pod watch counts")
	t.note("  pods labelled primary after every event. A write the old postmaster acknowledged although the client sent it")
	t.note("  after another postmaster had answered as primary was taken by a deposed primary.")
	t.note("lost commits: acknowledged INSERTs missing on the primary after the run (sync mode only; async may lose its lag).")
	return t
}
