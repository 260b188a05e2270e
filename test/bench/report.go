package main

import (
	"fmt"
	"strings"
	"time"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// faultLabels names each fault in the tables; goals and references are in
// targets (goals.go).
var faultLabels = map[string]string{
	faultKill:       "(a) primary container SIGKILLed (ctr task kill)",
	faultDelete:     "(b) primary pod deleted, default grace",
	faultForce:      "(c) primary pod deleted, --grace-period=0 --force",
	faultSwitchover: "switchover annotation → write on the new primary",
	faultAllPods:    "every pod deleted at once → first write",
}

// group selects the results of one mode and fault.
func group(rs []runResult, mode v1alpha1.ReplicationMode, fault string) (ok, failed []runResult) {
	for _, r := range rs {
		if r.mode != mode || r.fault != fault {
			continue
		}
		if r.err == "" {
			ok = append(ok, r)
		} else {
			failed = append(failed, r)
		}
	}
	return ok, failed
}

func collect(rs []runResult, f func(runResult) time.Duration) durations {
	var d durations
	for _, r := range rs {
		d.add(f(r))
	}
	return d
}

// faultTable: outage percentiles, safety checks and losses per mode and
// fault, each figure judged against its goal.
func faultTable(title string, rs []runResult, modes []v1alpha1.ReplicationMode, faults []string) *table {
	t := newTable(title, "fault", "mode", "runs ok/all", "first write p50", "p95", "max",
		"settled p50", "two primaries", "max labelled", "acked lost", "old primary acks after", "reference (constant)", "goal")
	for _, f := range faults {
		for _, m := range modes {
			ok, failed := group(rs, m, f)
			all := append(append([]runResult{}, ok...), failed...)
			if len(all) == 0 {
				continue
			}
			out := collect(ok, runResult.outage)
			settled := collect(ok, func(r runResult) time.Duration { return step(r.tl.t0, r.tl.settled) })
			overlaps, labels, acked, lost, late := 0, 0, 0, 0, 0
			for _, r := range all {
				late += r.tl.lateOldWrites
				if len(r.tl.overlaps) > 0 {
					overlaps++
				}
				labels = max(labels, r.labelsMax)
				if r.lost >= 0 {
					acked += r.acked
					lost += r.lost
				}
			}
			what := fmt.Sprintf("%s, %s", faultLabels[f], m)
			tg := targets[f]
			t.add(faultLabels[f], string(m), fmt.Sprintf("%d/%d", len(ok), len(all)),
				t.judged(secs(out.median()), what, tg.goal, p50, seconds(out.median())),
				t.judged(secs(out.p95()), what, tg.goal, p95, seconds(out.p95())),
				secs(out.max()), secs(settled.median()),
				fmt.Sprintf("%d runs", overlaps), fmt.Sprint(labels),
				t.judged(fmt.Sprintf("%d of %d", lost, acked), what, tg.goal, lostCount, float64(lost)),
				fmt.Sprint(late), tg.reference, tg.goal.String())
		}
	}
	t.note("first write: from the fault to the first INSERT acknowledged through <cluster>-rw's ClusterIP by a postmaster other than")
	t.note("  the old primary's (client: one connection, an INSERT every 50 ms, 1 s connect timeout, 2 s read deadline, reconnect on error).")
	t.note("settled: until Ready again with every member streaming from the primary (the next run waits for this).")
	t.note("two primaries: runs in which two postmasters' primary intervals overlapped (see the method below); must be 0.")
	t.note("max labelled: most pods labelled primary at once, from a pod watch; must be 1.")
	t.note("acked lost: acknowledged INSERTs missing on the primary after the run; must be 0 in sync mode.")
	t.note("old primary acks after: INSERTs the old primary acknowledged after the fault (all runs), kept or not; one sent after")
	t.note("  another postmaster answered as primary is a safety violation (below).")
	t.note("runs ok/all: failed runs (timeouts, or 'disturbed' when the shared operator was redeployed mid-run) are listed below.")
	t.note("goal: issue 5's; a figure that misses it is marked ✗ MISSED and counted in the summary (not fatal).")
	t.note("%s.", referenceSource)
	return t
}

// breakdownTable prints the median of each step so the slowest stands out.
func breakdownTable(rs []runResult, modes []v1alpha1.ReplicationMode, faults []string) *table {
	t := newTable("Failover breakdown (medians of successful runs)", "fault", "mode",
		"detect", "fence", "promote", "label", "endpoints", "proxy+client", "= first write", "slowest step")
	steps := []struct {
		name string
		f    func(timeline) time.Duration
	}{
		{"detect", func(tl timeline) time.Duration { return step(tl.t0, tl.fenced) }},
		{"fence", func(tl timeline) time.Duration { return step(tl.fenced, tl.gone) }},
		{"promote", func(tl timeline) time.Duration { return step(tl.gone, tl.promoted) }},
		{"label", func(tl timeline) time.Duration { return step(tl.promoted, tl.labelled) }},
		{"endpoints", func(tl timeline) time.Duration { return step(tl.labelled, tl.endpoint) }},
		{"proxy+client", func(tl timeline) time.Duration { return step(tl.endpoint, tl.firstWrite) }},
	}
	for _, f := range faults {
		for _, m := range modes {
			ok, _ := group(rs, m, f)
			if len(ok) == 0 {
				continue
			}
			row := []string{f, string(m)}
			slowest, worst := "", time.Duration(-1)
			for _, s := range steps {
				med := collect(ok, func(r runResult) time.Duration { return s.f(r.tl) }).median()
				row = append(row, secs(med))
				if med > worst {
					slowest, worst = s.name, med
				}
			}
			row = append(row, secs(collect(ok, runResult.outage).median()), slowest)
			t.add(row...)
		}
	}
	t.note("detect: fault → the old primary's pod loses its role label (the operator's fence patch) or is gone, from a pod watch.")
	t.note("fence: → the old primary's pod is deleted from the API, or unlabelled with its PostgreSQL exited for good (pod Failed, or its container terminated under restartPolicy Never); the operator waits for this before promoting.")
	t.note("promote: → another postmaster first answers pg_is_in_recovery() = false (each member polled every 50 ms).")
	t.note("label: → a new pod is labelled primary (pod watch). endpoints: → the -rw EndpointSlice lists its IP (watch).")
	t.note("proxy+client: → first INSERT acknowledged through the ClusterIP (kube-proxy's rules sync, then the client's next try; --trace shows the syncs).")
	t.note("Steps overlap when the operator acts before an observer sees the previous step; a step that came first counts 0.")
	return t
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// lifecycleTable compares each creation figure with its floor.
func lifecycleTable(lc *lifecycle, f *floors) *table {
	t := newTable("Lifecycle (issue 4)", "figure", "runs", "median", "max", "floor", "ratio to floor",
		"reference (constant)", "goal")
	var bare, overhead, basebackup, standby time.Duration = -1, -1, -1, -1
	if f != nil && len(f.host) > 0 {
		bare = f.barePodPVC.median()
		basebackup = f.hostMedian(func(h hostFloor) time.Duration { return h.basebackup })
		standby = f.hostMedian(func(h hostFloor) time.Duration { return h.standbyStart })
		// What Kubernetes adds to a pod running initdb + postgres.
		overhead = max(bare-f.hostMedian(func(h hostFloor) time.Duration { return h.initdb + h.start }), 0)
	}
	sum := func(ds ...time.Duration) time.Duration {
		var s time.Duration
		for _, d := range ds {
			if d < 0 {
				return -1
			}
			s += d
		}
		return s
	}
	rows := []struct {
		name  string
		key   string // lifecycle.fail's name for it
		fig   string // its goal and reference in targets; "" for none
		d     durations
		floor time.Duration
	}{
		{"apply → Ready, size 1", "create size 1", figReady1, lc.ready1, bare},
		{"apply → Ready, size 3", "create size 3", figReady3, lc.ready3, sum(bare, overhead, basebackup, standby)},
		{"replica pod deleted → Ready and streaming", "replica back", figReplicaBack, lc.replicaBack, sum(overhead, standby)},
		{"kubectl scale 3 → 5 → 5 ready members", "scale 3→5", figScaleUp, lc.scaleUp, sum(overhead, basebackup, standby)},
		{"kubectl scale 5 → 3 → Ready", "scale 5→3", "", lc.scaleDown, -1},
	}
	for _, r := range rows {
		failed := lc.failures[r.key]
		tg := targets[r.fig]
		t.add(r.name, fmt.Sprintf("%d (+%d failed)", len(r.d), failed),
			t.judged(secs(r.d.median()), r.name, tg.goal, p50, seconds(r.d.median())), secs(r.d.max()),
			secs(r.floor), ratio(r.d.median(), r.floor), tg.reference, tg.goal.String())
	}
	t.note("Ready: condition Ready=True for the current generation, phase Running, readyMembers = size (watched, not polled).")
	t.note("Actions go through client-go (the requests kubectl sends); kubectl's own start-up is not included.")
	t.note("floors: size 1 = a bare PostgreSQL pod with a volume claim, initdb + postgres, to Ready; size 3 = that + the pod")
	t.note("  start-up overhead + pg_basebackup + standby start to streaming (host binaries; both replicas could clone at once);")
	t.note("  replica back = pod overhead + standby start; scale = pod overhead + pg_basebackup + standby start.")
	if len(lc.failures) > 0 {
		t.note("failures: %v", lc.failures)
	}
	t.note("goal: issue 4's, judged on the median; a figure that misses it is marked ✗ MISSED and counted in the summary (not fatal).")
	t.note("%s.", referenceSource)
	return t
}

// floorsTable prints the physical floors themselves.
func floorsTable(f *floors, bin, image string) *table {
	t := newTable("Physical floors on this machine", "step", "median", "min", "max")
	for _, s := range []struct {
		name string
		f    func(hostFloor) time.Duration
	}{
		{"host: initdb (checksums, fsync on)", func(h hostFloor) time.Duration { return h.initdb }},
		{"host: primary start to first query", func(h hostFloor) time.Duration { return h.start }},
		{"host: pg_basebackup -X stream --checkpoint=fast", func(h hostFloor) time.Duration { return h.basebackup }},
		{"host: standby start to streaming", func(h hostFloor) time.Duration { return h.standbyStart }},
		{"host: primary fast shutdown", func(h hostFloor) time.Duration { return h.stop }},
		{"host: pg_promote(wait) after the primary stopped", func(h hostFloor) time.Duration { return h.promote }},
	} {
		var d durations
		for _, h := range f.host {
			d.add(s.f(h))
		}
		t.add(s.name, secs(d.median()), secs(d.min()), secs(d.max()))
	}
	t.add("bare pod (emptyDir): create → Ready", secs(f.barePod.median()), secs(f.barePod.min()), secs(f.barePod.max()))
	t.add("bare pod (volume claim): create → Ready", secs(f.barePodPVC.median()), secs(f.barePodPVC.min()), secs(f.barePodPVC.max()))
	t.note("host: PostgreSQL binaries from %s as the postgres user on loopback; bare pod: image %s,", bin, image)
	t.note("  initdb + postgres, pg_isready readiness probe every 1 s (the minimum period; members probe every 2 s).")
	return t
}
