package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// An operator restart with the fleet: the leader's pod is deleted (default
// grace, so it releases its Lease as a rollout would), the standby replica
// takes the Lease, starts its informers and one actor per cluster.
//
// "Observed" is precise: each actor's pass ends by handing its sample to
// the metrics (postgres_operator_cluster_ready{namespace,cluster}), and an
// actor's first pass runs as soon as it starts; the new leader's /metrics
// starts empty. So every cluster is observed when the new leader serves
// one such series for each cluster of the fleet. It is polled every 200 ms.

// restartMargin keeps counting writes after the last cluster was observed:
// a pass writes its status right after handing over its sample.
const restartMargin = 5 * time.Second

type restart struct {
	fleet                int
	oldLeader, newLeader string
	toLease, toObserved  time.Duration // from the delete
	observed, ready      int           // fleet clusters the new leader serves a series for, and Ready among them
	passes               float64       // the new leader's reconcile passes until then
	writes               float64       // the operator's API writes in the fleet's namespace (FlowSchema)
	changeTotal          int
	changes              string
	counted              time.Duration // the span writes were counted over
}

func (e *env) runRestart(ctx context.Context, ns string, fleet int, apf *apfSet) (*restart, error) {
	r := &restart{fleet: fleet, toLease: -1, toObserved: -1}
	if r.oldLeader = e.leaseHolder(ctx); r.oldLeader == "" {
		return nil, fmt.Errorf("no operator holds the Lease")
	}
	changes, err := e.startChangeCounter(ctx, ns)
	if err != nil {
		return nil, err
	}
	before, err := e.sampleAPF(ctx, apf)
	if err != nil {
		changes.close()
		return nil, err
	}
	logf("scale: deleting the leading operator's pod %s", r.oldLeader)
	t0 := time.Now()
	if err := e.kube.CoreV1().Pods(operatorNamespace).Delete(ctx, r.oldLeader, metav1.DeleteOptions{}); err != nil {
		changes.close()
		return nil, err
	}
	errObs := poll(ctx, 3*time.Minute, 200*time.Millisecond, func() (bool, error) { return r.check(ctx, e, ns, t0) })
	sleep(ctx, restartMargin)
	after, errAPF := e.sampleAPF(ctx, apf)
	changes.close()
	r.counted = time.Since(t0)
	r.writes = after.writes - before.writes
	r.changeTotal, r.changes = changes.summary()
	logf("scale: restart: new leader %s after %s, every cluster observed after %s; %.0f writes", r.newLeader,
		secs(r.toLease), secs(r.toObserved), r.writes)
	if errObs != nil {
		return r, errObs
	}
	return r, errAPF
}

// check is one poll: has a new leader observed every cluster of the fleet?
func (r *restart) check(ctx context.Context, e *env, ns string, t0 time.Time) (bool, error) {
	holder := e.leaseHolder(ctx)
	if holder == "" || holder == r.oldLeader {
		return false, fmt.Errorf("the Lease is held by %q", holder)
	}
	if r.toLease < 0 {
		r.toLease, r.newLeader = time.Since(t0), holder
	}
	addr, err := e.leaderMetricsAddr(ctx)
	if err != nil {
		return false, err
	}
	ss, err := scrapeMetrics(ctx, addr)
	if err != nil {
		return false, err
	}
	r.observed, r.ready = seriesIn(ss, "postgres_operator_cluster_ready", ns)
	if r.observed < r.fleet {
		return false, fmt.Errorf("%d of %d clusters observed", r.observed, r.fleet)
	}
	r.toObserved = time.Since(t0)
	r.passes = metricTotal(ss, "postgres_operator_reconcile_passes_total")
	return true, nil
}

// leaseHolder is the pod holding the operator's Lease; "" when none.
func (e *env) leaseHolder(ctx context.Context) string {
	lease, err := e.kube.CoordinationV1().Leases(operatorNamespace).Get(ctx, "postgres-operator", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

func (r *restart) table() *table {
	t := newTable(fmt.Sprintf("Operator restart with the fleet of %d: the leader's pod deleted (issue 12)", r.fleet), "figure", "value", "goal")
	t.add("delete → the standby holds the Lease", secs(r.toLease), "")
	what := "delete → every cluster observed by the new leader"
	t.add(what, t.judged(secs(r.toObserved), what, goalRestart, single, seconds(r.toObserved)), goalRestart.String())
	afterLease := time.Duration(-1)
	if r.toLease >= 0 && r.toObserved >= 0 {
		afterLease = r.toObserved - r.toLease
	}
	t.add("  of which after the Lease changed hands", secs(afterLease), "")
	t.add("clusters observed / Ready on the new leader", fmt.Sprintf("%d / %d of %d", r.observed, r.ready, r.fleet), "")
	t.add("the new leader's reconcile passes by then", fmt.Sprintf("%.0f", r.passes), "")
	what = fmt.Sprintf("API writes in the fleet's namespace over %s (FlowSchema)", r.counted.Round(time.Second))
	t.add(what, t.judged(fmt.Sprintf("%.0f", r.writes), what, goalRestartWrites, single, r.writes), goalRestartWrites.String())
	t.add("object changes there, seen by watches", fmt.Sprint(r.changeTotal), "")
	t.note("leader %s → %s; the standby was already running, so this is the handover a rollout or a lost pod causes.", r.oldLeader, r.newLeader)
	t.note("observed: the new leader's /metrics serves postgres_operator_cluster_ready for every fleet cluster, which each actor's")
	t.note("  first pass (observe → plan → act → status) sets; polled every 200 ms. Writes are counted from the delete until %s", restartMargin)
	t.note("  after that (a pass writes its status right after its sample), by FlowSchemas on the operator's ServiceAccount.")
	t.note("changes: %s", r.changes)
	return t
}
