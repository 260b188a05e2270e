package main

import (
	"strings"
	"testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

func TestSafetyViolations(t *testing.T) {
	sync, async := v1alpha1.ReplicationSync, v1alpha1.ReplicationAsync
	clean := func(mode v1alpha1.ReplicationMode) runResult {
		return runResult{mode: mode, fault: faultForce, run: 1, acked: 100, labelsMax: 1}
	}
	with := func(r runResult, f func(*runResult)) runResult { f(&r); return r }
	cases := []struct {
		name string
		runs []runResult
		want []string // substrings of the violations, in order
	}{
		{"clean runs in both modes", []runResult{clean(sync), clean(async)}, nil},
		{"two primaries in async mode", []runResult{with(clean(async), func(r *runResult) {
			r.tl.overlaps = []string{"c-1@10:00:00.000 primary until 10:00:01.000, c-2@10:00:00.500 primary from 10:00:00.900"}
		})}, []string{"async force run 1: two primaries: c-1"}},
		{"two pods labelled primary", []runResult{with(clean(sync), func(r *runResult) {
			r.labelsMax, r.labelErrs = 2, []string{"10:00:00.100: 2 pods labelled primary"}
		})}, []string{"two pods labelled primary: 10:00:00.100"}},
		{"two labelled without detail", []runResult{with(clean(sync), func(r *runResult) { r.labelsMax = 2 })},
			[]string{"two pods labelled primary: 2 at once"}},
		{"commits lost in sync mode", []runResult{with(clean(sync), func(r *runResult) { r.lost = 3 })},
			[]string{"3 of 100 acknowledged commits lost in sync mode"}},
		{"commits lost in async mode are allowed", []runResult{with(clean(async), func(r *runResult) { r.lost = 3 })}, nil},
		{"losses not checked are no violation", []runResult{with(clean(sync), func(r *runResult) { r.lost, r.err = -1, "timeout" })}, nil},
		{"a deposed primary took writes, async too", []runResult{with(clean(async), func(r *runResult) { r.tl.splitWrites = 2 })},
			[]string{"old primary acknowledged 2 writes sent after another postmaster was promoted"}},
		{"writes of the old primary before the promotion are fine", []runResult{with(clean(sync), func(r *runResult) { r.tl.lateOldWrites = 5 })}, nil},
		{"every violation of every run", []runResult{
			with(clean(sync), func(r *runResult) { r.lost = 1 }),
			clean(async),
			with(clean(sync), func(r *runResult) { r.run, r.fault, r.tl.overlaps, r.lost = 7, faultKill, []string{"x"}, 2 }),
		}, []string{"sync force run 1: 1 of 100", "sync sigkill run 7: two primaries: x", "sync sigkill run 7: 2 of 100"}},
	}
	for _, c := range cases {
		got := safetyViolations(c.runs)
		if len(got) != len(c.want) {
			t.Errorf("%s: %d violations %q, want %d", c.name, len(got), got, len(c.want))
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: violation %d is %q, want it to contain %q", c.name, i, got[i], w)
			}
		}
	}
}

func TestFailedRunsAreNotViolations(t *testing.T) {
	rs := []runResult{{mode: v1alpha1.ReplicationSync, fault: faultDelete, run: 2, lost: -1, err: "after delete: timeout\ndetail"}}
	if v := safetyViolations(rs); len(v) != 0 {
		t.Errorf("violations %q", v)
	}
	if f := failedRuns(rs); len(f) != 1 || f[0] != "sync delete run 2 failed: after delete: timeout" {
		t.Errorf("failed runs %q", f)
	}
}
