package main

import (
	"fmt"
	"strings"
	"time"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// reference and goal of each fault, from the issues.
var faultTargets = map[string]struct{ label, reference, goal string }{
	faultKill:       {"(a) primary container SIGKILLed (ctr task kill)", "24 s median", "p50 ≤ 3 s, p95 ≤ 5 s"},
	faultDelete:     {"(b) primary pod deleted, default grace", "3.4 s median", "p50 ≤ 2.5 s, p95 ≤ 4 s"},
	faultForce:      {"(c) primary pod deleted, --grace-period=0 --force", "3.4 s median; 21 s in 3 of 10", "p50 ≤ 2.5 s, p95 ≤ 4 s"},
	faultSwitchover: {"switchover annotation → write on the new primary", "", "0 lost commits"},
	faultAllPods:    {"every pod deleted at once → first write", "", ""},
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

// faultTable: outage percentiles, safety checks and losses per mode and fault.
func faultTable(title string, rs []runResult, modes []v1alpha1.ReplicationMode, faults []string) *table {
	t := newTable(title, "fault", "mode", "runs ok/all", "first write p50", "p95", "max",
		"settled p50", "two primaries", "max labelled", "acked lost", "old primary acks after", "reference (CNPG 1.30)", "goal")
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
			target := faultTargets[f]
			t.add(target.label, string(m), fmt.Sprintf("%d/%d", len(ok), len(all)),
				secs(out.median()), secs(out.p95()), secs(out.max()), secs(settled.median()),
				fmt.Sprintf("%d runs", overlaps), fmt.Sprint(labels), fmt.Sprintf("%d of %d", lost, acked),
				fmt.Sprint(late), target.reference, target.goal)
		}
	}
	t.note("first write: from the fault to the first INSERT acknowledged through <cluster>-rw's ClusterIP by a postmaster other than")
	t.note("  the old primary's (client: one connection, an INSERT every 50 ms, 1 s connect timeout, 2 s read deadline, reconnect on error).")
	t.note("settled: until Ready again with every member streaming from the primary (the next run waits for this).")
	t.note("two primaries: runs in which two postmasters' primary intervals overlapped (see the method below); must be 0.")
	t.note("max labelled: most pods labelled primary at once, from a pod watch; must be 1.")
	t.note("acked lost: acknowledged INSERTs missing on the primary after the run; must be 0 in sync mode.")
	t.note("old primary acks after: INSERTs the old primary acknowledged after the fault (all runs), kept or not.")
	t.note("runs ok/all: failed runs (timeouts, or 'disturbed' when the shared operator was redeployed mid-run) are listed below.")
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
	t.note("proxy+client: → first INSERT acknowledged through the ClusterIP (kube-proxy's iptables sync, then the client's next try).")
	t.note("Steps overlap when the operator acts before an observer sees the previous step; a step that came first counts 0.")
	return t
}

// safetyNotes lists every violation with its run.
func safetyNotes(rs []runResult) []string {
	var out []string
	for _, r := range rs {
		for _, o := range r.tl.overlaps {
			out = append(out, fmt.Sprintf("%s %s run %d: two primaries: %s", r.mode, r.fault, r.run, o))
		}
		for _, l := range r.labelErrs {
			out = append(out, fmt.Sprintf("%s %s run %d: %s", r.mode, r.fault, r.run, l))
		}
		if r.mode == v1alpha1.ReplicationSync && r.lost > 0 {
			out = append(out, fmt.Sprintf("%s %s run %d: %d acknowledged commits lost", r.mode, r.fault, r.run, r.lost))
		}
		if r.err != "" {
			out = append(out, fmt.Sprintf("%s %s run %d failed: %s", r.mode, r.fault, r.run, firstLine(r.err)))
		}
	}
	return out
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
		"reference (CNPG 1.30)", "goal")
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
		d     durations
		floor time.Duration
		ref   string
		goal  string
	}{
		{"apply → Ready, size 1", "create size 1", lc.ready1, bare, "19.6 s", "≤ 7 s"},
		{"apply → Ready, size 3", "create size 3", lc.ready3, sum(bare, overhead, basebackup, standby), "60.7 s", "≤ 15 s"},
		{"replica pod deleted → Ready and streaming", "replica back", lc.replicaBack, sum(overhead, standby), "12.3 s", "≤ 6 s"},
		{"kubectl scale 3 → 5 → 5 ready members", "scale 3→5", lc.scaleUp, sum(overhead, basebackup, standby), "43 s", "≤ 12 s"},
		{"kubectl scale 5 → 3 → Ready", "scale 5→3", lc.scaleDown, -1, "", ""},
	}
	for _, r := range rows {
		failed := lc.failures[r.key]
		t.add(r.name, fmt.Sprintf("%d (+%d failed)", len(r.d), failed), secs(r.d.median()), secs(r.d.max()),
			secs(r.floor), ratio(r.d.median(), r.floor), r.ref, r.goal)
	}
	t.note("Ready: condition Ready=True for the current generation, phase Running, readyMembers = size (watched, not polled).")
	t.note("Actions go through client-go (the requests kubectl sends); kubectl's own start-up is not included.")
	t.note("floors: size 1 = a bare PostgreSQL pod with a volume claim, initdb + postgres, to Ready; size 3 = that + the pod")
	t.note("  start-up overhead + pg_basebackup + standby start to streaming (host binaries; both replicas could clone at once);")
	t.note("  replica back = pod overhead + standby start; scale = pod overhead + pg_basebackup + standby start.")
	if len(lc.failures) > 0 {
		t.note("failures: %v", lc.failures)
	}
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
