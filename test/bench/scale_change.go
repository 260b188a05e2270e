package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// Spec change → first action: work_mem (reloadable) is patched on one
// cluster, and its first action is the operator's ApplyParameters Event,
// which it records once ALTER SYSTEM and the reload are done on the first
// member. The operator's recorder (client-go's record package) stamps
// Events with firstTimestamp/lastTimestamp to the second only, so the
// bench uses the moment its own watch receives the Event instead, from
// the change's arrival at its own PostgresCluster watch (scale_change_seen.go)
// and, for comparison, from just before the patch is sent. Each sample uses
// another cluster, size-1 ones first: the recorder drops a cluster's Events
// past a burst of 25 (its spam filter), and creation used some of them.

const changeTimeout = 30 * time.Second // a sample without an action by then is missed

type specChanges struct {
	clusters, atOnce int
	idle, busy       changeCase
}

// changeCase gathers one case's samples (one at a time, or 10% at once).
type changeCase struct {
	total    durations // patch sent → first action's Event
	operator durations // change delivered to watches → first action's Event
	logged   durations // change delivered to watches → first action in the operator's log
	miss     int       // no Event
	logMiss  int       // no action in the log (nor Event), or the log unread
}

func (c *changeCase) add(d changeSample) {
	c.total.add(d.total)
	c.operator.add(d.operator)
	c.logged.add(d.logged)
	if d.total < 0 {
		c.miss++
	}
	if d.logged < 0 {
		c.logMiss++
	}
}

// changeSample is one change's measures, -1 when missing: from the patch
// sent to the Event, from the change's arrival at a watch to the Event, and
// from that arrival to the action in the operator's log.
type changeSample struct{ total, operator, logged time.Duration }

func (e *env) runSpecChanges(ctx context.Context, ns string, plan []fleetCluster) (*specChanges, error) {
	w, err := e.watchActions(ns, "ApplyParameters")
	if err != nil {
		return nil, err
	}
	defer close(w.stop)
	specs, err := e.watchSpecs(ns)
	if err != nil {
		return nil, err
	}
	defer close(specs.stop)
	n := e.opts.scale.changeSamples
	r := &specChanges{clusters: len(plan), atOnce: max(1, len(plan)/10)}
	order, next := changeOrder(plan), 0
	take := func(k int) []string {
		out := make([]string, k)
		for i := range out {
			out[i] = order[next%len(order)]
			next++
		}
		return out
	}
	logf("scale: spec change → first action, %d samples one at a time", n)
	for range n {
		r.idle.add(e.changeAtOnce(ctx, ns, take(1), w, specs)[0])
		sleep(ctx, time.Second) // the cluster's passes after its action, so the next sample starts from idle
	}
	logf("scale: spec change → first action, %d clusters at once", r.atOnce)
	for done := 0; done < n; done += r.atOnce {
		for _, d := range e.changeAtOnce(ctx, ns, take(r.atOnce), w, specs) {
			r.busy.add(d)
		}
		sleep(ctx, 2*time.Second)
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	return r, nil
}

// changeOrder lists the fleet's clusters, size 1 first (see above).
func changeOrder(plan []fleetCluster) []string {
	var ones, threes []string
	for _, c := range plan {
		if c.size == 1 {
			ones = append(ones, c.name)
		} else {
			threes = append(threes, c.name)
		}
	}
	return append(ones, threes...)
}

// changeAtOnce patches work_mem on every named cluster at the same moment
// and returns each one's time to its first action, from the patch sent and
// from the change's arrival at the bench's watch.
func (e *env) changeAtOnce(ctx context.Context, ns string, names []string, w *actionWatch, specs *specWatch) []changeSample {
	t0s := make([]time.Time, len(names))
	gens := make([]int64, len(names))
	errs := make([]error, len(names))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, name := range names {
		value := w.nextValue()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0s[i], gens[i], errs[i] = e.setWorkMem(ctx, ns, name, value)
		}()
	}
	close(start)
	wg.Wait()
	out := make([]changeSample, len(names))
	seens := make([]time.Time, len(names))
	deadline := time.Now().Add(changeTimeout)
	for i, name := range names {
		out[i] = changeSample{-1, -1, -1}
		if errs[i] != nil {
			logf("scale: patching %s: %v", name, errs[i])
			continue
		}
		if at, ok := w.waitFirst(ctx, name, t0s[i], deadline); ok {
			out[i].total = at.Sub(t0s[i])
			if seen, ok := specs.waitGeneration(ctx, name, gens[i], deadline); ok {
				out[i].operator = max(at.Sub(seen), 0)
				seens[i] = seen
			}
		} else {
			logf("scale: %s: no ApplyParameters Event within %s of the change", name, changeTimeout)
		}
	}
	e.addLogged(ctx, ns, names, slices.MinFunc(t0s, time.Time.Compare), seens, out)
	return out
}

// addLogged fills in each sample's time from the change's arrival to the
// action in the operator's log; a log that cannot be read leaves it -1.
func (e *env) addLogged(ctx context.Context, ns string, names []string, since time.Time, seens []time.Time, out []changeSample) {
	logged, err := e.actionLogTimes(ctx, since)
	if err != nil {
		logf("scale: reading the operator's log: %v", err)
		return
	}
	for i, name := range names {
		if at, ok := logged[ns+"/"+name]; ok && !seens[i].IsZero() {
			out[i].logged = max(at.Sub(seens[i]), 0)
		}
	}
}

// setWorkMem returns when the patch was sent and the generation it made.
func (e *env) setWorkMem(ctx context.Context, ns, name, value string) (time.Time, int64, error) {
	patch := []byte(fmt.Sprintf(`{"spec":{"parameters":{"work_mem":%q}}}`, value))
	t0 := time.Now()
	pgc, err := e.pg.PostgresV1alpha1().PostgresClusters(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return t0, 0, err
	}
	return t0, pgc.Generation, nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// actionWatch records when Events of one reason about a namespace's
// PostgresClusters arrive, by cluster.
type actionWatch struct {
	mu    sync.Mutex
	seen  map[string][]time.Time
	value int // the last work_mem handed out, in kB
	stop  chan struct{}
}

func (e *env) watchActions(ns, reason string) (*actionWatch, error) {
	api := e.kube.CoreV1().Events(ns)
	sel := fields.OneTermEqualSelector("reason", reason).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return api.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return api.Watch(ctx, o)
		},
	}
	w := &actionWatch{seen: map[string][]time.Time{}, value: 4096, stop: make(chan struct{})}
	inf := cache.NewSharedIndexInformer(lw, &corev1.Event{}, 0, cache.Indexers{})
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: w.saw,
		// A repeated Event is counted on the existing object (an update).
		// A relist replays unchanged objects as updates: same version.
		UpdateFunc: func(old, obj any) {
			o, ok1 := old.(*corev1.Event)
			n, ok2 := obj.(*corev1.Event)
			if ok1 && ok2 && o.ResourceVersion != n.ResourceVersion {
				w.saw(obj)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	go inf.Run(w.stop)
	if !cache.WaitForCacheSync(w.stop, inf.HasSynced) {
		close(w.stop)
		return nil, fmt.Errorf("the Event informer never synced")
	}
	return w, nil
}

func (w *actionWatch) saw(obj any) {
	ev, ok := obj.(*corev1.Event)
	if !ok || ev.InvolvedObject.Kind != "PostgresCluster" {
		return
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen[ev.InvolvedObject.Name] = append(w.seen[ev.InvolvedObject.Name], now)
}

// nextValue is a work_mem no cluster has had yet, so every patch changes it.
func (w *actionWatch) nextValue() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.value++
	return fmt.Sprintf("%dkB", w.value)
}

// waitFirst waits until deadline for the cluster's first Event after t0.
// The arrival time is taken by the handler; polling only notices it.
func (w *actionWatch) waitFirst(ctx context.Context, name string, t0, deadline time.Time) (time.Time, bool) {
	for {
		w.mu.Lock()
		for _, t := range w.seen[name] {
			if !t.Before(t0) {
				w.mu.Unlock()
				return t, true
			}
		}
		w.mu.Unlock()
		if time.Now().After(deadline) || ctx.Err() != nil {
			return time.Time{}, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *specChanges) table() *table {
	t := newTable(fmt.Sprintf("Spec change → first action, fleet of %d (issue 12)", r.clusters),
		"case", "samples ok/all", "p50", "p99", "max", "goal")
	row := func(what string, d durations, miss int, judged bool) {
		p, cell := d.quantile(0.99), secs(d.quantile(0.99))
		if missedRank(len(d), miss, 0.99) {
			// A missed sample is slower than any measured one.
			p, cell = changeTimeout, "> "+secs(changeTimeout)
		}
		g := ""
		if judged {
			cell, g = t.judged(cell, what, goalSpecChange, p99, seconds(p)), goalSpecChange.String()
		}
		t.add(what, fmt.Sprintf("%d/%d", len(d), len(d)+miss), secs(d.median()), cell, secs(d.max()), g)
	}
	busy := fmt.Sprintf("%d clusters (10%%) changed at the same moment", r.atOnce)
	row("one cluster changed, the rest of the fleet idle", r.idle.logged, r.idle.logMiss, true)
	row(busy, r.busy.logged, r.busy.logMiss, true)
	row("  idle, to the action's Event", r.idle.operator, r.idle.miss, false)
	row("  10%, to the actions' Events", r.busy.operator, r.busy.miss, false)
	row("  idle, from the patch sent to the Event", r.idle.total, r.idle.miss, false)
	row("  10%, from the patches sent to the Events", r.busy.total, r.busy.miss, false)
	t.note("change: a merge patch of spec.parameters.work_mem (reloadable), each sample on another cluster, size-1 ones first.")
	t.note("first action: ApplyParameters (ALTER SYSTEM and reload done on the first member), as the leading operator logs it")
	t.note("  (microseconds, the same machine's clock); the Event rows time its Event's arrival at the bench's watch instead,")
	t.note("  one more write through the API server (Events carry seconds only).")
	t.note("judged from the change's arrival at the bench's own PostgresCluster watch: the moment the API server has stored it")
	t.note("  and sent it to its watchers, the operator among them. The last two rows start before the patch is sent: a hundred")
	t.note("  patches at once wait for the API server's writes (CEL validation, etcd) before any watcher sees them.")
	t.note("a sample without its Event within %s is missed, and ranks above every measured one; p50 and max are of those measured.", changeTimeout)
	t.note("p99 is the nearest rank: with 20 samples, the slowest one.")
	return t
}

// missedRank reports whether the nearest-rank quantile q of ok measured
// samples and miss missed ones (ranked last) falls on a missed one.
func missedRank(ok, miss int, q float64) bool {
	n := ok + miss
	if miss == 0 || n == 0 {
		return false
	}
	rank := int(q*float64(n)+0.999999) - 1 // as durations.quantile
	return rank >= ok
}
