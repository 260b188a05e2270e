package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// simPodsPerNode is what one simulated node admits (hack/sim/stages.yaml).
const simPodsPerNode = 200

// podRoom fails early, with what to do, when the nodes would not admit the
// pods the scenario needs on top of those already there: the kubelet's
// maxPods (110 unless LOCAL_MAX_PODS raised it) is met long before memory.
// Real and simulated nodes (hack/sim.sh) are counted apart.
func (e *env) podRoom(ctx context.Context, needReal, needSim int) error {
	nodes, err := e.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	admits, simNodes := map[bool]int{}, map[string]bool{}
	for _, n := range nodes.Items {
		sim := n.Labels[simLabel] == "true"
		simNodes[n.Name] = sim
		admits[sim] += int(n.Status.Allocatable.Pods().Value())
	}
	pods, err := e.kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "status.phase!=Succeeded,status.phase!=Failed"})
	if err != nil {
		return err
	}
	have := map[bool]int{}
	for _, p := range pods.Items {
		have[simNodes[p.Spec.NodeName]]++
	}
	if have[false]+needReal > admits[false] {
		return fmt.Errorf("the scenario needs %d pods at its peak and %d already exist, but the node admits %d (the kubelet's maxPods): "+
			"run with fewer clusters, or set LOCAL_MAX_PODS (default 250; at most 253, the addresses of the node's /24 pod range) "+
			"and restart the kubelet with it: sudo hack/local-cluster.sh down && sudo hack/local-cluster.sh up", needReal, have[false], admits[false])
	}
	if have[true]+needSim > admits[true] {
		return fmt.Errorf("the scenario needs %d simulated pods and %d exist, but the simulated nodes admit %d: "+
			"sudo hack/sim.sh up %d", needSim, have[true], admits[true], (needSim+have[true])/simPodsPerNode+1)
	}
	logf("scale: the real nodes admit %d pods (%d exist, the scenario needs up to %d); the simulated ones %d (%d, %d)",
		admits[false], have[false], needReal, admits[true], have[true], needSim)
	return nil
}

// createClusters creates the clusters at once (10 requests in flight).
func (e *env) createClusters(ctx context.Context, ns string, cs []fleetCluster) error {
	api := e.pg.PostgresV1alpha1().PostgresClusters(ns)
	errs := make([]error, len(cs))
	sem := make(chan struct{}, 10)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			pgc := smallCluster(ns, c.name, c.size)
			if c.sim {
				pgc = simulated(pgc)
			}
			_, errs[i] = api.Create(ctx, pgc, metav1.CreateOptions{})
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitAllReady watches the namespace's PostgresClusters until every one
// of cs is Ready, and returns when each first was: the arrival of the
// watch event that showed it (clusterReady, as everywhere in the bench).
func (e *env) waitAllReady(ctx context.Context, ns string, cs []fleetCluster, timeout time.Duration) (map[string]time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	api := e.pg.PostgresV1alpha1().PostgresClusters(ns)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return api.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return api.Watch(ctx, o)
		},
	}
	pending := map[string]bool{}
	for _, c := range cs {
		pending[c.name] = true
	}
	ready := map[string]time.Time{}
	last := map[string]*v1alpha1.PostgresCluster{}
	_, err := watchtools.UntilWithSync(ctx, lw, &v1alpha1.PostgresCluster{}, nil, func(ev watch.Event) (bool, error) {
		p, ok := ev.Object.(*v1alpha1.PostgresCluster)
		if !ok || !pending[p.Name] {
			return false, nil
		}
		last[p.Name] = p
		if ev.Type != watch.Deleted && clusterReady(p) {
			ready[p.Name] = time.Now()
			delete(pending, p.Name)
		}
		return len(pending) == 0, nil
	})
	if err != nil {
		var late []string
		for name := range pending {
			late = append(late, name+" ("+describeStatus(last[name])+")")
		}
		sort.Strings(late)
		return ready, fmt.Errorf("%d of %d clusters not Ready: %w; e.g. %s", len(late), len(cs), err, strings.Join(late[:min(len(late), 5)], "; "))
	}
	return ready, nil
}

// latest is the last of the times.
func latest(ts map[string]time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		out = maxTime(out, t)
	}
	return out
}

// sinceEach is each time's distance from t0.
func sinceEach(t0 time.Time, ts map[string]time.Time) durations {
	var d durations
	for _, t := range ts {
		d.add(t.Sub(t0))
	}
	return d
}

// deleteAll deletes every PostgresCluster of the namespace at once and
// waits until none is left, nor any pod or volume claim.
func (e *env) deleteAll(ctx context.Context, ns string, timeout time.Duration) (time.Duration, error) {
	t0 := time.Now()
	err := e.pg.PostgresV1alpha1().PostgresClusters(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	if err != nil {
		return -1, err
	}
	var gone time.Time
	err = poll(ctx, timeout, 500*time.Millisecond, func() (bool, error) {
		n, err := e.leftIn(ctx, ns)
		if n == "" && err == nil {
			gone = time.Now()
			return true, nil
		}
		return false, fmt.Errorf("left: %s %v", n, err)
	})
	if err != nil {
		return -1, err
	}
	return gone.Sub(t0), nil
}

// leftIn says what is left in the namespace: "" when nothing.
func (e *env) leftIn(ctx context.Context, ns string) (string, error) {
	pgcs, err := e.pg.PostgresV1alpha1().PostgresClusters(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "?", err
	}
	pods, err := e.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "?", err
	}
	pvcs, err := e.kube.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "?", err
	}
	if len(pgcs.Items)+len(pods.Items)+len(pvcs.Items) == 0 {
		return "", nil
	}
	return fmt.Sprintf("%d PostgresClusters, %d pods, %d claims", len(pgcs.Items), len(pods.Items), len(pvcs.Items)), nil
}

// deleteFleet removes the fleet at the end, failed or not, so that the
// machine is free again before the namespaces are deleted.
func (e *env) deleteFleet(ns string) {
	if e.opts.keep {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	logf("scale: deleting the fleet")
	if took, err := e.deleteAll(ctx, ns, 10*time.Minute); err != nil {
		logf("scale: deleting the fleet: %v", err)
	} else {
		logf("scale: fleet deleted, all gone in %s", secs(took))
	}
}

// fleetCreation is the fleet created batch by batch.
type fleetCreation struct {
	batch int
	rows  []batchRow
	total time.Duration // first create → last cluster Ready
}

type batchRow struct {
	first, last  string
	size1, size3 int
	took         time.Duration // the batch's creates → its last cluster Ready
	p50          time.Duration // → its median cluster Ready
	cumulative   time.Duration
}

// createFleet creates the fleet in batches, each once the one before is
// all Ready.
func (e *env) createFleet(ctx context.Context, ns string, plan []fleetCluster) (*fleetCreation, error) {
	o := e.opts.scale
	fc := &fleetCreation{batch: o.batch}
	start := time.Now()
	for i, b := range batches(plan, o.batch) {
		row := batchRow{first: b[0].name, last: b[len(b)-1].name}
		for _, c := range b {
			if c.size == 3 {
				row.size3++
			} else {
				row.size1++
			}
		}
		t0 := time.Now()
		if err := e.createClusters(ctx, ns, b); err != nil {
			return fc, err
		}
		ready, err := e.waitAllReady(ctx, ns, b, e.opts.timeout+time.Duration(len(b))*10*time.Second)
		if err != nil {
			return fc, fmt.Errorf("batch %d: %w", i+1, err)
		}
		row.took, row.p50 = latest(ready).Sub(t0), sinceEach(t0, ready).median()
		row.cumulative = latest(ready).Sub(start)
		fc.rows = append(fc.rows, row)
		fc.total = row.cumulative
		logf("scale: batch %d (%s–%s) Ready in %s; %d clusters in %s", i+1, row.first, row.last, secs(row.took),
			min(len(plan), (i+1)*o.batch), secs(row.cumulative))
	}
	return fc, nil
}

func (fc *fleetCreation) table() *table {
	t := newTable(fmt.Sprintf("Fleet created in batches of %d (issue 12)", fc.batch),
		"batch", "clusters", "size 1 / size 3", "creates → all Ready", "→ half Ready (p50)", "since the first batch")
	n, m := 0, 0
	for i, r := range fc.rows {
		n += r.size1 + r.size3
		m += r.size1 + 3*r.size3
		t.add(fmt.Sprint(i+1), r.first+"–"+r.last, fmt.Sprintf("%d / %d", r.size1, r.size3),
			secs(r.took), secs(r.p50), secs(r.cumulative))
	}
	t.add("total", fmt.Sprintf("%d clusters, %d members", n, m), "", "", "", secs(fc.total))
	t.note("each batch's clusters are created at once (10 requests in flight) once the batch before is all Ready;")
	t.note("  Ready: condition Ready for the current generation, phase Running, every member ready (watched, not polled).")
	t.note("members: PostgreSQL 15, shared_buffers 16MB, max_connections 20, requests cpu 5m / memory 32Mi, no limits.")
	return t
}

// burst is N size-1 clusters created at once, then deleted at once.
type burst struct {
	n                 int
	issued            time.Duration // sending the creates
	ready             durations     // create → each cluster Ready
	allReady, allGone time.Duration
}

func (e *env) runBurst(ctx context.Context, n int) (*burst, error) {
	ns, err := e.namespace(ctx, "burst")
	if err != nil {
		return nil, err
	}
	cs := make([]fleetCluster, n)
	for i := range cs {
		cs[i] = fleetCluster{name: fmt.Sprintf("b%03d", i+1), size: 1, sim: e.opts.scale.sim}
	}
	b := &burst{n: n, allReady: -1, allGone: -1}
	logf("scale: creating %d clusters at once", n)
	t0 := time.Now()
	if err := e.createClusters(ctx, ns, cs); err != nil {
		_, _ = e.deleteAll(ctx, ns, 10*time.Minute) // the fleet needs the room
		return nil, err
	}
	b.issued = time.Since(t0)
	ready, errReady := e.waitAllReady(ctx, ns, cs, e.opts.timeout+time.Duration(n)*10*time.Second)
	b.ready = sinceEach(t0, ready)
	if errReady == nil {
		b.allReady = latest(ready).Sub(t0)
	}
	logf("scale: %d of %d Ready, all in %s; deleting them at once", len(ready), n, secs(b.allReady))
	// Deleted even when some never became Ready: the fleet needs the room.
	gone, err := e.deleteAll(ctx, ns, 10*time.Minute)
	if err != nil {
		return b, fmt.Errorf("deleting: %w", err)
	}
	b.allGone = gone
	logf("scale: all %d gone in %s", n, secs(gone))
	return b, errReady
}

func (b *burst) table() *table {
	t := newTable(fmt.Sprintf("%d clusters of size 1 created at once, then deleted at once (issue 12)", b.n), "figure", "value")
	t.add("creates sent (10 in flight)", secs(b.issued))
	t.add("first create → each cluster Ready: p50 / p95", secs(b.ready.median())+" / "+secs(b.ready.p95()))
	t.add(fmt.Sprintf("first create → all %d Ready", b.n), secs(b.allReady))
	t.add("one DeleteCollection → no PostgresCluster, pod or volume claim left", secs(b.allGone))
	t.note("run on its own, before the fleet exists: the node's /24 pod range has 253 addresses, too few for both.")
	t.note("same members as the fleet's; deletion waits for the operator's finalizer, the pods' graceful stop and the volumes' removal.")
	return t
}
