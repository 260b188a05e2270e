package main

import (
	"fmt"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Goals of issue 14 at the default T: the isolated primary refuses writes
// within T + 2 s, the new primary takes its first write within T + 5 s.
var (
	goalOldStops = goal{unit: "s", bounds: []bound{{stat: single, limit: (defaultFence + 2e9).Seconds()}}}
	goalNewFirst = goal{unit: "s", bounds: []bound{{stat: single, limit: (defaultFence + 5e9).Seconds()}}}
)

// partitionTable: one row per fault and mode, with the worst run judged.
func partitionTable(rs []partitionRun) *table {
	t := newTable("The primary's node cut off or stopped (issue 14), T = 10 s",
		"fault", "mode", "runs ok/all", "old primary's last write after the fault: p50 / max",
		"new primary's first write: p50 / max", "old side: acked / lost", "-rw: acked / lost", "overlaps")
	for _, fault := range []string{nodeFaultCut, nodeFaultStop} {
		for _, mode := range []v1alpha1.ReplicationMode{v1alpha1.ReplicationSync, v1alpha1.ReplicationAsync} {
			addPartitionRow(t, fault, mode, rs)
		}
	}
	t.note("old side: a client on the old primary's own node, which still reaches it; -rw: a client of <cluster>-rw from the control plane's node;")
	t.note("  the old primary acknowledging after the new one (an overlap), or a lost acknowledged commit in sync mode, is a safety violation.")
	return t
}

func addPartitionRow(t *table, fault string, mode v1alpha1.ReplicationMode, rs []partitionRun) {
	var old, first durations
	ok, all, oldAcked, oldLost, acked, lost, overlaps := 0, 0, 0, 0, 0, 0, 0
	for _, r := range rs {
		if r.fault != fault || r.mode != mode {
			continue
		}
		all++
		if r.err != nil {
			continue
		}
		ok++
		old.add(r.oldStopped)
		first.add(r.newFirst)
		oldAcked, oldLost, acked, lost = oldAcked+r.oldAcked, oldLost+r.oldLost, acked+r.acked, lost+r.lost
		if r.overlap {
			overlaps++
		}
	}
	if all == 0 {
		return
	}
	what := fmt.Sprintf("%s %s", fault, mode)
	t.add(fault, string(mode), fmt.Sprintf("%d/%d", ok, all),
		secs(old.median())+" / "+t.judged(secs(old.max()), what+" old primary stops", goalOldStops, single, seconds(old.max())),
		secs(first.median())+" / "+t.judged(secs(first.max()), what+" first write on the new primary", goalNewFirst, single, seconds(first.max())),
		fmt.Sprintf("%d / %d", oldAcked, oldLost), fmt.Sprintf("%d / %d", acked, lost), fmt.Sprint(overlaps))
}

// partitionViolations: overlaps, and lost acknowledged commits in sync mode.
func partitionViolations(rs []partitionRun) []string {
	var out []string
	for i, r := range rs {
		if r.overlap {
			out = append(out, fmt.Sprintf("partition %s %s run %d: the old primary took a write after the new one", r.fault, r.mode, i+1))
		}
		if r.mode == v1alpha1.ReplicationSync && r.lost+r.oldLost > 0 {
			out = append(out, fmt.Sprintf("partition %s %s run %d: %d acknowledged commits lost", r.fault, r.mode, i+1, r.lost+r.oldLost))
		}
	}
	return out
}

// partitionFailures names the runs that did not complete.
func partitionFailures(rs []partitionRun) []string {
	var out []string
	for i, r := range rs {
		if r.err != nil {
			out = append(out, fmt.Sprintf("partition %s %s run %d: %v", r.fault, r.mode, i+1, r.err))
		}
	}
	return out
}
