package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Failover of one size-3 cluster inside the fleet against the same cluster
// alone, by the failover scenario's own runs (failover.go's runOne: a
// writer through <cluster>-rw, an observer of pods and roles, the fault,
// the first write a new primary acknowledges, then settled again). Both
// clusters have the fleet's small settings and async replication.

const scaleMode = v1alpha1.ReplicationAsync

// failoverAlone measures a size-3 cluster with nothing else of the
// scenario on the machine, then deletes it.
func (e *env) failoverAlone(ctx context.Context) ([]runResult, error) {
	ns, err := e.namespace(ctx, "alone")
	if err != nil {
		return nil, err
	}
	const name = "alone"
	if _, err := e.pg.PostgresV1alpha1().PostgresClusters(ns).Create(ctx, smallCluster(ns, name, 3), metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	logf("scale: failover of a size-3 cluster alone, %d runs", e.opts.scale.failoverRuns)
	rs, err := e.scaleFailover(ctx, ns, name)
	if errDel := e.deleteCluster(ctx, ns, name); errDel != nil && err == nil {
		err = fmt.Errorf("deleting it: %w", errDel)
	}
	return rs, err
}

// failoverInFleet measures the fleet's last size-3 cluster (the spec
// changes reach size-3 clusters last, if at all).
func (e *env) failoverInFleet(ctx context.Context, ns string, plan []fleetCluster) ([]runResult, error) {
	for i := len(plan) - 1; i >= 0; i-- {
		if plan[i].size == 3 {
			logf("scale: failover of %s inside the fleet, %d runs", plan[i].name, e.opts.scale.failoverRuns)
			return e.scaleFailover(ctx, ns, plan[i].name)
		}
	}
	return nil, fmt.Errorf("the fleet has no size-3 cluster (--scale-size3 0)")
}

func (e *env) scaleFailover(ctx context.Context, ns, name string) ([]runResult, error) {
	b := &failoverBench{e: e}
	b.ids.Store(time.Now().UnixMilli() * 1000) // as newFailoverBench: ids never collide
	c := &foCluster{ns: ns, name: name, mode: scaleMode}
	b.clusters = []*foCluster{c}
	if err := b.prepare(ctx, c); err != nil {
		return nil, err
	}
	err := b.runAll(ctx, []string{e.opts.scale.fault}, e.opts.scale.failoverRuns)
	return b.results, err
}

func failoverCompareTable(alone, inFleet []runResult, fault string, n int) *table {
	t := newTable(fmt.Sprintf("Failover of one size-3 cluster: alone vs inside the fleet of %d (issue 12)", n),
		"where", "runs ok/all", "first write p50", "p95", "max", "settled p50", "goal")
	p50s := map[string]time.Duration{}
	for _, w := range []struct {
		name string
		rs   []runResult
	}{{"alone", alone}, {"inside the fleet", inFleet}} {
		ok, failed := group(w.rs, scaleMode, fault)
		out := collect(ok, runResult.outage)
		settled := collect(ok, func(r runResult) time.Duration { return step(r.tl.t0, r.tl.settled) })
		p50s[w.name] = out.median()
		t.add(w.name, fmt.Sprintf("%d/%d", len(ok), len(ok)+len(failed)), secs(out.median()), secs(out.p95()),
			secs(out.max()), secs(settled.median()), "")
	}
	a, f := p50s["alone"], p50s["inside the fleet"]
	ratio, cell := -1.0, "-"
	if a > 0 && f > 0 {
		ratio = f.Seconds() / a.Seconds()
		cell = fmt.Sprintf("%.2f×", ratio)
	}
	what := "failover inside the fleet / alone, p50"
	t.add(what, "", t.judged(cell, what, goalFailoverRatio, p50, ratio), "", "", "", goalFailoverRatio.String())
	addSplit(t, alone, inFleet, fault)
	t.note("fault: %s; async replication; the failover scenario's method: from the fault to the first INSERT", faultLabels[fault])
	t.note("  acknowledged through <cluster>-rw by a postmaster other than the old primary's (one INSERT every 50 ms).")
	t.note("alone: before the fleet exists, on a cluster with the fleet's settings; its safety checks count in the summary.")
	return t
}

// addSplit adds the two parts of the first write, p50 alone and inside: up
// to the new primary in -rw's EndpointSlice (the operator's steps, with the
// kubelet's report that the old primary stopped, which promotion waits
// for), and from there to the first write (kube-proxy's rules and the
// client's next try).
func addSplit(t *table, alone, inFleet []runResult, fault string) {
	for _, part := range []struct {
		what     string
		from, to func(timeline) time.Time
	}{
		{"  fault → new primary in -rw's endpoints (operator, kubelet)", func(tl timeline) time.Time { return tl.t0 },
			func(tl timeline) time.Time { return tl.endpoint }},
		{"  from there → first write (kube-proxy, client)", func(tl timeline) time.Time { return tl.endpoint },
			func(tl timeline) time.Time { return tl.firstWrite }},
	} {
		median := func(rs []runResult) time.Duration {
			ok, _ := group(rs, scaleMode, fault)
			return collect(ok, func(r runResult) time.Duration { return step(part.from(r.tl), part.to(r.tl)) }).median()
		}
		a, f := median(alone), median(inFleet)
		cell := "-"
		if a > 0 && f > 0 {
			cell = fmt.Sprintf("%.2f×", f.Seconds()/a.Seconds())
		}
		t.add(part.what, "", fmt.Sprintf("%s alone, %s inside: %s", secs(a), secs(f), cell), "", "", "", "")
	}
}
