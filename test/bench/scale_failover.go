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
// scenario on the machine, then (besideServices > 0) the same cluster
// beside that many Service pairs without selectors, and deletes it.
func (e *env) failoverAlone(ctx context.Context, besideServices int) (alone, beside []runResult, err error) {
	ns, err := e.namespace(ctx, "alone")
	if err != nil {
		return nil, nil, err
	}
	const name = "alone"
	if _, err := e.pg.PostgresV1alpha1().PostgresClusters(ns).Create(ctx, smallCluster(ns, name, 3), metav1.CreateOptions{}); err != nil {
		return nil, nil, err
	}
	logf("scale: failover of a size-3 cluster alone, %d runs", e.opts.scale.failoverRuns)
	alone, err = e.scaleFailover(ctx, ns, name)
	if err == nil && besideServices > 0 {
		beside, err = e.failoverBesideServices(ctx, ns, name, besideServices)
	}
	if errDel := e.deleteCluster(ctx, ns, name); errDel != nil && err == nil {
		err = fmt.Errorf("deleting it: %w", errDel)
	}
	return alone, beside, err
}

// failoverBesideServices runs the failover of ns/name again with the
// fleet's Services on the node (scale_services.go), then deletes them.
func (e *env) failoverBesideServices(ctx context.Context, ns, name string, pairs int) ([]runResult, error) {
	svcNS, err := e.namespace(ctx, "services")
	if err != nil {
		return nil, err
	}
	took, err := e.createServiceLoad(ctx, svcNS, pairs)
	var rs []runResult
	if err == nil {
		logf("scale: %d Services without selectors in %s, taken in by kube-proxy in %s; failover of %s beside them, %d runs",
			2*pairs, svcNS, secs(took), name, e.opts.scale.failoverRuns)
		rs, err = e.scaleFailover(ctx, ns, name)
	}
	if errDel := e.deleteServiceLoad(ctx, svcNS); errDel != nil && err == nil {
		err = fmt.Errorf("deleting the Services: %w", errDel)
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

// failoverRows are the failover's measured cases, in the table's order.
type failoverRows struct {
	alone, beside, inFleet []runResult
	pairs                  int // the beside case's Service pairs
}

func failoverCompareTable(rows failoverRows, fault string, n int) *table {
	t := newTable(fmt.Sprintf("Failover of one size-3 cluster: alone vs inside the fleet of %d (issue 12)", n),
		"where", "runs ok/all", "first write p50", "p95", "max", "settled p50", "goal")
	besideName := fmt.Sprintf("alone, beside %d Services", 2*rows.pairs)
	p50s := map[string]time.Duration{}
	for _, w := range []struct {
		name string
		rs   []runResult
	}{{"alone", rows.alone}, {besideName, rows.beside}, {"inside the fleet", rows.inFleet}} {
		if w.name == besideName && rows.pairs == 0 {
			continue
		}
		ok, failed := group(w.rs, scaleMode, fault)
		out := collect(ok, runResult.outage)
		settled := collect(ok, func(r runResult) time.Duration { return step(r.tl.t0, r.tl.settled) })
		p50s[w.name] = out.median()
		t.add(w.name, fmt.Sprintf("%d/%d", len(ok), len(ok)+len(failed)), secs(out.median()), secs(out.p95()),
			secs(out.max()), secs(settled.median()), "")
	}
	ratio, cell := ratioCell(p50s["inside the fleet"], p50s["alone"])
	what := "failover inside the fleet / alone, p50"
	t.add(what, "", t.judged(cell, what, goalFailoverRatio, p50, ratio), "", "", "", goalFailoverRatio.String())
	if rows.pairs > 0 {
		_, beside := ratioCell(p50s[besideName], p50s["alone"])
		_, inside := ratioCell(p50s["inside the fleet"], p50s[besideName])
		t.add("  the Services' share / the rest", "", fmt.Sprintf("beside them / alone %s; inside / beside them %s", beside, inside), "", "", "", "")
	}
	addSplit(t, rows, fault)
	t.note("fault: %s; async replication; the failover scenario's method: from the fault to the first INSERT", faultLabels[fault])
	t.note("  acknowledged through <cluster>-rw by a postmaster other than the old primary's (one INSERT every 50 ms).")
	t.note("alone: before the fleet exists, on a cluster with the fleet's settings; its safety checks count in the summary.")
	if rows.pairs > 0 {
		t.note("beside: the same cluster, with %d pairs of Services without selectors (one with an endpoint, one without,", rows.pairs)
		t.note("  as each fleet cluster's -rw and -ro): the node's kube-proxy rewrites its rules for all of them at every sync.")
	}
	return t
}

// ratioCell is a/b and its cell; -1 and "-" when either is missing.
func ratioCell(a, b time.Duration) (float64, string) {
	if a <= 0 || b <= 0 {
		return -1, "-"
	}
	r := a.Seconds() / b.Seconds()
	return r, fmt.Sprintf("%.2f×", r)
}

// addSplit adds the two parts of the first write, p50 of each case: up to
// the new primary in -rw's EndpointSlice (the operator's steps, with the
// kubelet's report that the old primary stopped, which promotion waits
// for), and from there to the first write (kube-proxy's rules and the
// client's next try).
func addSplit(t *table, rows failoverRows, fault string) {
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
		a, f := median(rows.alone), median(rows.inFleet)
		_, cell := ratioCell(f, a)
		beside := ""
		if rows.pairs > 0 {
			beside = fmt.Sprintf("%s beside the Services, ", secs(median(rows.beside)))
		}
		t.add(part.what, "", fmt.Sprintf("%s alone, %s%s inside: %s", secs(a), beside, secs(f), cell), "", "", "", "")
	}
}
