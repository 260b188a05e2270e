package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

const operatorNamespace = "postgres-operator"

// idle is the operator's cost with N idle clusters.
type idle struct {
	n                  int
	allReady           time.Duration // creating N clusters at once until the last is Ready
	createCalls        apfSample     // operator requests while creating them
	window             time.Duration
	steady             apfSample // operator requests during the steady window
	changes            string    // what changed in the namespace during the window
	changeTotal        int
	operatorChanges    int   // of changeTotal, the operator's own
	rssBefore          int64 // operator RSS before the clusters existed
	rssMean, rssMax    int64
	cpuSeconds         float64 // operator CPU time during the window
	clustersOnOperator int     // PostgresClusters in every namespace (the cluster is shared)
	operatorPID        int
}

// operatorPID finds the leading operator's process on this node: the
// Lease names the pod, its status the container, containerd the PID.
func (e *env) operatorPID(ctx context.Context) (int, error) {
	return e.leaderPID(ctx, operatorNamespace)
}

// operatorIdentity names the leading operator process: its pod and the
// container's start time, which change when it is redeployed or restarts.
func (e *env) operatorIdentity(ctx context.Context) string {
	return e.leaderIdentity(ctx, operatorNamespace)
}

func (e *env) runIdle(ctx context.Context) (*idle, error) {
	ns, err := e.namespace(ctx, "idle")
	if err != nil {
		return nil, err
	}
	apf, err := e.newAPFSet(ctx, ns)
	if err != nil {
		return nil, err
	}
	defer apf.delete(e)
	r := &idle{n: e.opts.idleClusters, window: e.opts.steady}
	if r.operatorPID, err = e.operatorPID(ctx); err != nil {
		return nil, err
	}
	if p, err := readProc(r.operatorPID); err == nil {
		r.rssBefore = p.rss
	}
	if err := r.create(ctx, e, ns, apf); err != nil {
		return r, err
	}
	// The shared operator may be redeployed by someone else meanwhile: a
	// window it did not live through is measured again.
	for attempt := 1; ; attempt++ {
		// The steady state starts once creation's last status writes are
		// done; a fixed margin after the last Ready keeps it simple.
		logf("idle: %d clusters Ready; steady window starts in %s", r.n, e.opts.quiet)
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(e.opts.quiet):
		}
		leader := e.operatorIdentity(ctx)
		if r.operatorPID, err = e.operatorPID(ctx); err != nil {
			return r, err
		}
		err = r.measure(ctx, e, ns, apf)
		now := e.operatorIdentity(ctx)
		if now == leader && err == nil {
			return r, nil
		}
		if attempt == 3 {
			return r, fmt.Errorf("the operator restarted during %d windows in a row (%s → %s): %v", attempt, leader, now, err)
		}
		logf("idle: the operator restarted during the window (%s → %s, %v); measuring again", leader, now, err)
	}
}

// create makes N size-1 clusters at once and waits until all are Ready.
func (r *idle) create(ctx context.Context, e *env, ns string, apf *apfSet) error {
	before, err := e.sampleAPF(ctx, apf)
	if err != nil {
		return err
	}
	start := time.Now()
	for i := 1; i <= r.n; i++ {
		c := newCluster(ns, fmt.Sprintf("idle-%d", i), 1, v1alpha1.ReplicationAsync)
		if _, err := e.pg.PostgresV1alpha1().PostgresClusters(ns).Create(ctx, c, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	var last time.Time
	for i := 1; i <= r.n; i++ {
		name := fmt.Sprintf("idle-%d", i)
		_, at, err := e.waitReady(ctx, ns, name, e.opts.timeout+time.Duration(r.n)*10*time.Second)
		if err != nil {
			e.diagnose(ns, name)
			return err
		}
		last = maxTime(last, at)
	}
	r.allReady = last.Sub(start)
	after, err := e.sampleAPF(ctx, apf)
	if err != nil {
		return err
	}
	r.createCalls = after.minus(before)
	return nil
}

// measure samples the operator's RSS every second and its CPU and API
// requests over the window.
func (r *idle) measure(ctx context.Context, e *env, ns string, apf *apfSet) error {
	changes, err := e.startChangeCounter(ctx, ns)
	if err != nil {
		return err
	}
	before, err := e.sampleAPF(ctx, apf)
	if err != nil {
		changes.close()
		return err
	}
	p0, err := readProc(r.operatorPID)
	if err != nil {
		changes.close()
		return fmt.Errorf("reading the operator's process: %w", err)
	}
	start := time.Now()
	var rssSum int64
	var n int64
	r.rssMax = 0
	tick := time.NewTicker(time.Second)
	for time.Since(start) < r.window {
		<-tick.C
		if p, err := readProc(r.operatorPID); err == nil {
			rssSum += p.rss
			n++
			r.rssMax = max(r.rssMax, p.rss)
		}
	}
	tick.Stop()
	p1, err := readProc(r.operatorPID)
	if err != nil {
		changes.close()
		return err
	}
	after, err := e.sampleAPF(ctx, apf)
	elapsed := time.Since(start)
	changes.close()
	if err != nil {
		return err
	}
	r.window = elapsed
	r.steady = after.minus(before)
	r.cpuSeconds = float64(p1.cpuTicks-p0.cpuTicks) / userHZ
	if n > 0 {
		r.rssMean = rssSum / n
	}
	r.changeTotal, r.changes = changes.summary()
	r.operatorChanges = changes.byOperator()
	all, err := e.pg.PostgresV1alpha1().PostgresClusters("").List(ctx, metav1.ListOptions{})
	if err == nil {
		r.clustersOnOperator = len(all.Items)
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (r *idle) table() *table {
	perMinute := func(v float64) float64 { return v * float64(time.Minute) / float64(r.window) }
	rate := func(v float64) string {
		if v > 0 && v < 0.05 { // a single write in a long window must not print as 0.0
			return fmt.Sprintf("%.3f /min", v)
		}
		return fmt.Sprintf("%.1f /min", v)
	}
	t := newTable(fmt.Sprintf("Operator cost with %d idle clusters of size 1 (steady window %s)", r.n, r.window.Round(time.Second)),
		"figure", "value", "reference (constant)", "goal")
	// row adds a figure with its target's reference and goal, judged.
	row := func(what, fig, cell string, v float64) {
		tg := targets[fig]
		t.add(what, t.judged(cell, what, tg.goal, single, v), tg.reference, tg.goal.String())
	}
	writes, changes := perMinute(r.steady.writes), perMinute(float64(r.changeTotal))
	t.add("operator RSS before the clusters", mib(r.rssBefore), "", "")
	row("operator RSS, mean / max over the window", figIdleRSS, mib(r.rssMean)+" / "+mib(r.rssMax), -1)
	t.add("operator CPU over the window", fmt.Sprintf("%.2f s = %.2f%% of one core", r.cpuSeconds, 100*r.cpuSeconds/r.window.Seconds()), "", "")
	row("API writes in the namespace (FlowSchema)", figIdleWrites, rate(writes), writes)
	t.add("API reads in the namespace (get/list/watch)", rate(perMinute(r.steady.reads)), "", "")
	t.add("leader-election Lease requests", rate(perMinute(r.steady.lease)), "", "(per operator, not per cluster)")
	row("object changes seen by watches", figIdleChanges, rate(changes), changes)
	t.add(fmt.Sprintf("create %d clusters at once: last Ready", r.n), secs(r.allReady), "", "")
	t.add("operator writes per created cluster", fmt.Sprintf("%.1f", r.createCalls.writes/float64(r.n)), "", "")
	t.note("operator PID %d on this node; %d PostgresClusters in all namespaces at the time (the local cluster is shared)", r.operatorPID, r.clustersOnOperator)
	t.note("changes during the window: %s", r.changes)
	t.note("method: FlowSchemas matching only the operator's ServiceAccount count its requests in this namespace (all write verbs,")
	t.note("  including no-op and refused ones) via apiserver_flowcontrol_dispatched_requests_total; watches on pods, volumes,")
	t.note("  services, secrets, events and PostgresClusters name what actually changed, by field manager.")
	t.note("%s.", referenceSource)
	return t
}
