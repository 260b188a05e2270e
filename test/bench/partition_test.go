package main

import (
	"testing"
	"time"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

func TestPartitionMeasuresTheOldSideAndOverlaps(t *testing.T) {
	t0 := time.Unix(1000, 0)
	old := incarnation{member: "pt-1", start: 1}
	acks := map[int64]time.Time{1: t0.Add(-time.Second), 2: t0.Add(3 * time.Second), 3: t0.Add(11 * time.Second)}
	host := []write{{ok: true, on: old, end: t0.Add(-500 * time.Millisecond)}}

	var r partitionRun
	r.measureOld(t0, t0.Add(14*time.Second), acks, host, old)
	if r.oldStopped != 11*time.Second || r.oldAcked != 2 || r.overlap {
		t.Errorf("stopped %v, acked after %d, overlap %v; want 11s, 2, false", r.oldStopped, r.oldAcked, r.overlap)
	}
	r = partitionRun{}
	r.measureOld(t0, t0.Add(10*time.Second), acks, host, old)
	if !r.overlap {
		t.Error("an old write at +11 s after the new primary's first at +10 s is an overlap")
	}
	r = partitionRun{}
	r.measureOld(t0, t0.Add(time.Second), map[int64]time.Time{}, nil, old)
	if r.oldStopped != 0 || r.overlap {
		t.Errorf("nothing after the fault: stopped %v, overlap %v", r.oldStopped, r.overlap)
	}
}

func TestPartitionViolations(t *testing.T) {
	rs := []partitionRun{
		{fault: nodeFaultCut, mode: v1alpha1.ReplicationAsync, oldLost: 3},
		{fault: nodeFaultCut, mode: v1alpha1.ReplicationSync, lost: 1},
		{fault: nodeFaultStop, mode: v1alpha1.ReplicationAsync, overlap: true},
	}
	if v := partitionViolations(rs); len(v) != 2 {
		t.Errorf("async loss is counted, not a violation; sync loss and overlaps are: %v", v)
	}
}

func TestExtraNodeNetns(t *testing.T) {
	for node, want := range map[string]string{"local-node": "", "local-node-2": "lc-node2", "local-node-12": "lc-node12", "other": ""} {
		if got := extraNodeNetns(node); got != want {
			t.Errorf("%s: %q, want %q", node, got, want)
		}
	}
}
