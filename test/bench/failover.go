package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Faults the failover scenarios inject.
const (
	faultKill       = "sigkill"    // ctr task kill -s SIGKILL on the primary's container
	faultDelete     = "delete"     // delete the primary's pod, default grace
	faultForce      = "force"      // delete it with --grace-period=0 --force
	faultSwitchover = "switchover" // the switchover annotation
	faultAllPods    = "all-pods"   // delete every member pod at once
)

// foCluster is one size-3 cluster the fault runs reuse.
type foCluster struct {
	ns, name string
	mode     v1alpha1.ReplicationMode
	password string
	rw       pgTarget
	// consecutive runs that could not start because it never settled.
	unsettled int
}

// runResult is one fault run.
type runResult struct {
	mode  v1alpha1.ReplicationMode
	fault string
	run   int
	err   string // empty when the run completed
	tl    timeline
	acked int
	lost  int // acknowledged writes missing afterwards; -1 when not checked
	// labelsMax is the most pods labelled primary at once during the run.
	labelsMax int
	labelErrs []string
	trace     string // the run's timeline, with --trace or when it was slow or failed
}

func (r runResult) outage() time.Duration { return step(r.tl.t0, r.tl.firstWrite) }

// failoverBench runs the fault scenarios on one sync and one async cluster.
type failoverBench struct {
	e        *env
	clusters []*foCluster
	ids      atomic.Int64
	results  []runResult
}

func (e *env) newFailoverBench(ctx context.Context) (*failoverBench, error) {
	ns, err := e.namespace(ctx, "fo")
	if err != nil {
		return nil, err
	}
	b := &failoverBench{e: e}
	// Ids start from the clock so that a re-created table never collides.
	b.ids.Store(time.Now().UnixMilli() * 1000)
	for _, mode := range e.opts.modes {
		b.clusters = append(b.clusters, &foCluster{ns: ns, name: "fo-" + string(mode), mode: mode})
	}
	for _, c := range b.clusters {
		if _, err := e.pg.PostgresV1alpha1().PostgresClusters(ns).Create(ctx, newCluster(ns, c.name, 3, c.mode), metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	for _, c := range b.clusters {
		if err := b.prepare(ctx, c); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// prepare waits for a new cluster and creates the writer's table.
func (b *failoverBench) prepare(ctx context.Context, c *foCluster) error {
	e := b.e
	if _, _, err := e.waitReady(ctx, c.ns, c.name, e.opts.timeout); err != nil {
		e.diagnose(c.ns, c.name)
		return err
	}
	var err error
	if c.password, err = e.password(ctx, c.ns, c.name); err != nil {
		return err
	}
	ip, err := e.rwAddress(ctx, c.ns, c.name)
	if err != nil {
		return err
	}
	c.rw = pgTarget{host: ip, password: c.password}
	return c.rw.exec(ctx, createTableSQL)
}

// recreate replaces a cluster that no longer converges, so that one bad
// run does not fail every run after it.
func (b *failoverBench) recreate(ctx context.Context, c *foCluster) error {
	logf("re-creating %s/%s", c.ns, c.name)
	if err := b.e.deleteCluster(ctx, c.ns, c.name); err != nil {
		return err
	}
	if _, err := b.e.pg.PostgresV1alpha1().PostgresClusters(c.ns).Create(ctx, newCluster(c.ns, c.name, 3, c.mode), metav1.CreateOptions{}); err != nil {
		return err
	}
	c.unsettled = 0
	return b.prepare(ctx, c)
}

// runAll interleaves the faults run by run, so that slow phases of the
// shared machine spread over all of them.
func (b *failoverBench) runAll(ctx context.Context, faults []string, runs int) error {
	failedInARow := 0
	for i := 1; i <= runs; i++ {
		for _, c := range b.clusters {
			for _, f := range faults {
				if err := b.e.waitAPI(ctx); err != nil {
					return err
				}
				r := b.runOne(ctx, c, f, i)
				b.results = append(b.results, r)
				printRun(r, runs)
				if r.err == "" || strings.HasPrefix(r.err, disturbed) {
					failedInARow = 0
				} else if failedInARow++; failedInARow >= maxFailedInARow {
					return fmt.Errorf("%d runs in a row failed; giving up on the remaining runs", failedInARow)
				}
			}
		}
	}
	return nil
}

// maxFailedInARow stops a scenario that no longer measures anything.
const maxFailedInARow = 6

// disturbed starts the error of a run spoilt by an operator restart.
const disturbed = "disturbed:"

// waitAPI returns once the API server answers. The local cluster is
// shared and is sometimes restarted: a run started meanwhile would only
// time out. It gives up after 5 minutes.
func (e *env) waitAPI(ctx context.Context) error {
	var logged bool
	return poll(ctx, 5*time.Minute, 5*time.Second, func() (bool, error) {
		_, err := e.kube.Discovery().ServerVersion()
		if err != nil && !logged {
			logf("the API server does not answer (%v); waiting up to 5 minutes", err)
			logged = true
		}
		return err == nil, err
	})
}

// runOne waits for a settled cluster, starts the observer and the writer,
// injects the fault and follows the cluster until it has settled again.
func (b *failoverBench) runOne(ctx context.Context, c *foCluster, fault string, i int) (r runResult) {
	e := b.e
	r = runResult{mode: c.mode, fault: fault, run: i, lost: -1}
	if _, err := e.settle(ctx, c.ns, c.name, c.password, e.opts.timeout); err != nil {
		r.err = "not settled before the fault: " + err.Error()
		e.diagnose(c.ns, c.name)
		if c.unsettled++; c.unsettled >= 2 {
			if err := b.recreate(ctx, c); err != nil {
				r.err += "; re-creating failed: " + err.Error()
			}
		}
		return r
	}
	c.unsettled = 0
	// The cluster is shared: someone may redeploy the operator mid-run.
	// Such a run measures the restart, not a failover, and is excluded.
	leader := e.operatorIdentity(ctx)
	defer func() {
		if now := e.operatorIdentity(ctx); now != leader && r.err == "" {
			r.err = fmt.Sprintf("%s the operator restarted during the run (%s → %s); excluded", disturbed, leader, now)
		}
	}()
	o, err := e.startObserver(ctx, c.ns, c.name, c.password)
	if err != nil {
		r.err = err.Error()
		return r
	}
	w := startWriter(c.rw, &b.ids)
	log, err := b.fault(ctx, c, fault, o, w, &r)
	if log == nil {
		log = w.halt()
	}
	o.halt()
	r.labelsMax, r.labelErrs = o.maxLabels, o.labelErrs
	if err != nil {
		r.err = err.Error()
		e.diagnose(c.ns, c.name)
	}
	if acked, lost, err := lostWrites(ctx, c.rw, log); err == nil {
		r.acked, r.lost = acked, lost
	} else if r.err == "" {
		r.err = "checking acknowledged writes: " + err.Error()
	}
	return r
}

// fault is the body of a run once the observer and writer are running.
// It returns the writer's log once the writer is stopped.
func (b *failoverBench) fault(ctx context.Context, c *foCluster, fault string, o *observer, w *writer, r *runResult) ([]write, error) {
	e := b.e
	since := time.Now()
	// Faults start from a working client and a sampled cluster.
	if err := poll(ctx, 10*time.Second, 20*time.Millisecond, func() (bool, error) {
		return w.acked() >= 3 && o.sampledAll(since), fmt.Errorf("%d writes acknowledged; every member sampled: %t", w.acked(), o.sampledAll(since))
	}); err != nil {
		return nil, fmt.Errorf("before the fault: %w", err)
	}
	oldPod, oldInc, err := o.currentPrimary(time.Now())
	if err != nil {
		return nil, err
	}
	var proxy *proxySyncPoller
	if e.opts.trace { // it polls every 100 ms: only when asked for
		proxy = startProxySyncPoller(ctx)
	}
	t0, err := b.inject(ctx, c, fault, oldPod)
	if err != nil {
		proxy.halt()
		return nil, fmt.Errorf("injecting %s: %w", fault, err)
	}
	// The writer keeps writing until the cluster has settled, so writes
	// during the old primary's rejoin are checked as well.
	errWrite := poll(ctx, e.opts.timeout, 20*time.Millisecond, func() (bool, error) {
		_, ok := w.firstAckAfter(t0, oldInc)
		return ok, fmt.Errorf("no write acknowledged by a new primary")
	})
	settled, errSettle := e.settle(ctx, c.ns, c.name, c.password, e.opts.timeout)
	log := w.halt()
	syncs := proxy.halt()
	r.tl = o.timeline(t0, oldPod, oldInc, log)
	r.tl.settled = settled
	if e.opts.trace || errWrite != nil || errSettle != nil || step(t0, settled) > e.opts.slow ||
		step(t0, r.tl.firstWrite) > e.opts.slowWrite {
		r.trace = o.trace(t0, log, syncs, e.settleLog)
	}
	switch {
	case errWrite != nil:
		return log, fmt.Errorf("after %s: %w", fault, errWrite)
	case errSettle != nil:
		return log, fmt.Errorf("after %s, not settled: %w", fault, errSettle)
	}
	return log, nil
}

// inject causes the fault and returns when it was caused.
func (b *failoverBench) inject(ctx context.Context, c *foCluster, fault string, primary podEvent) (time.Time, error) {
	e := b.e
	pods := e.kube.CoreV1().Pods(c.ns)
	switch fault {
	case faultKill:
		p, err := pods.Get(ctx, primary.name, metav1.GetOptions{})
		if err != nil {
			return time.Time{}, err
		}
		id, err := containerID(p)
		if err != nil {
			return time.Time{}, err
		}
		t0 := time.Now()
		_, err = e.ctr(ctx, "task", "kill", "-s", "SIGKILL", id)
		return t0, err
	case faultDelete:
		t0 := time.Now()
		return t0, pods.Delete(ctx, primary.name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &primary.uid}})
	case faultForce:
		t0 := time.Now()
		return t0, pods.Delete(ctx, primary.name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0),
			Preconditions: &metav1.Preconditions{UID: &primary.uid}})
	case faultSwitchover:
		return b.requestSwitchover(ctx, c, primary.name)
	case faultAllPods:
		t0 := time.Now()
		return t0, pods.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: clusterLabel + "=" + c.name})
	}
	return time.Time{}, fmt.Errorf("unknown fault %q", fault)
}

// requestSwitchover sets the switchover annotation to "any". The operator
// handles a value once (status.lastSwitchover), so when the last request
// was "any" it names a replica instead.
func (b *failoverBench) requestSwitchover(ctx context.Context, c *foCluster, primary string) (time.Time, error) {
	api := b.e.pg.PostgresV1alpha1().PostgresClusters(c.ns)
	p, err := api.Get(ctx, c.name, metav1.GetOptions{})
	if err != nil {
		return time.Time{}, err
	}
	target := "any"
	if p.Status.LastSwitchover == "any" {
		for _, m := range p.Status.MemberStatuses {
			if m.Name != primary && m.Ready {
				target = m.Name
				break
			}
		}
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{v1alpha1.SwitchoverAnnotation: target}}})
	t0 := time.Now()
	_, err = api.Patch(ctx, c.name, types.MergePatchType, patch, metav1.PatchOptions{})
	return t0, err
}

// printRun prints one run's line as soon as it is done.
func printRun(r runResult, runs int) {
	tl := r.tl
	status := "ok"
	if r.err != "" {
		status = "FAILED: " + r.err
	}
	var checks []string
	for _, v := range runViolations(r) {
		checks = append(checks, "SAFETY VIOLATION: "+v)
	}
	defer func() {
		if r.trace != "" {
			fmt.Print(r.trace)
		}
	}()
	logf("%s %s run %d/%d: first write %s (detect %s, fence %s, promote %s, label %s, endpoints %s, proxy+client %s), settled %s, "+
		"acked %d lost %d, old primary acked %d after the fault; new primary %s; %s %s",
		r.mode, r.fault, r.run, runs, secs(r.outage()),
		secs(step(tl.t0, tl.fenced)), secs(step(tl.fenced, tl.gone)), secs(step(tl.gone, tl.promoted)),
		secs(step(tl.promoted, tl.labelled)), secs(step(tl.labelled, tl.endpoint)), secs(step(tl.endpoint, tl.firstWrite)),
		secs(step(tl.t0, tl.settled)),
		r.acked, r.lost, tl.lateOldWrites, tl.newPrimary, status, strings.Join(checks, "; "))
}
