package main

import (
	"strings"
	"testing"
	"time"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// fakeRuns is n completed runs of a fault whose first writes came after
// the given outages, in turn.
func fakeRuns(mode v1alpha1.ReplicationMode, fault string, outages ...time.Duration) []runResult {
	t0 := time.Unix(1000, 0)
	var rs []runResult
	for i, d := range outages {
		rs = append(rs, runResult{mode: mode, fault: fault, run: i + 1, acked: 40, labelsMax: 1,
			tl: timeline{t0: t0, firstWrite: t0.Add(d), settled: t0.Add(d + time.Second)}})
	}
	return rs
}

func TestFaultTableMarksMissedGoals(t *testing.T) {
	ms := time.Millisecond
	var rs []runResult
	// sync: p50 1.25 s, p95 5.15 s (nearest rank 19 of 20); async: all 1.2 s.
	sync := []time.Duration{}
	for i := 0; i < 18; i++ {
		sync = append(sync, 1250*ms)
	}
	sync = append(sync, 5150*ms, 5200*ms)
	rs = append(rs, fakeRuns(v1alpha1.ReplicationSync, faultForce, sync...)...)
	rs = append(rs, fakeRuns(v1alpha1.ReplicationAsync, faultForce, 1200*ms, 1200*ms, 1200*ms)...)
	tb := faultTable("Failover", rs, []v1alpha1.ReplicationMode{v1alpha1.ReplicationSync, v1alpha1.ReplicationAsync}, []string{faultForce})
	out := tb.String()
	t.Log(out)
	if tb.checks != 4 || len(tb.misses) != 1 || !strings.Contains(tb.misses[0], "sync: 5.15 s ✗ MISSED (goal p95 ≤ 4 s)") {
		t.Errorf("checks %d, misses %q; want 4 checks and the sync p95 missed", tb.checks, tb.misses)
	}
	for _, want := range []string{"p50 ≤ 2.5 s, p95 ≤ 4 s", "3.4 s median; 21 s in 3 of 10", referenceSource} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q", want)
		}
	}
}
