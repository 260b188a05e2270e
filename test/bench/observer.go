package main

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"postgres-operator.dev/postgres-operator/pkg/cluster"
)

// roleSample is one pg_is_in_recovery() answer from one pod IP.
type roleSample struct {
	sent, recv time.Time
	primary    bool // pg_is_in_recovery() = false
	on         incarnation
}

// podEvent is one change of a member pod, as a watch delivered it.
type podEvent struct {
	at       time.Time
	deleted  bool
	name     string
	uid      types.UID
	role     string
	fenced   bool
	deleting bool
	terminal bool  // PostgreSQL has exited for good (the operator's rule, cluster.PostgresExited)
	grace    int64 // deletionGracePeriodSeconds, -1 when not deleting
	ip       string
}

// sliceEvent is the addresses of the -rw Service's EndpointSlices after
// one change.
type sliceEvent struct {
	at    time.Time
	addrs map[string]bool
}

// observer watches one cluster during a run: a pod informer records every
// pod change with its arrival time and counts pods labelled primary; a
// sampler per pod IP asks pg_is_in_recovery() every 50 ms on a kept
// connection. IPs stay sampled after their pod is gone, because a pod
// deleted with --force may still run PostgreSQL.
type observer struct {
	target func(ip string) pgTarget

	mu        sync.Mutex
	events    []podEvent
	samples   []roleSample
	samplers  map[string]bool
	labelled  map[types.UID]string // pods (not yet deleted) labelled primary
	maxLabels int
	labelErrs []string
	slices    []sliceEvent
	rwSlices  map[string][]string // EndpointSlice name → addresses

	stop chan struct{}
	wg   sync.WaitGroup
}

func (e *env) startObserver(ctx context.Context, ns, cluster, password string) (*observer, error) {
	o := &observer{
		target:   func(ip string) pgTarget { return pgTarget{host: ip, password: password} },
		samplers: map[string]bool{}, labelled: map[types.UID]string{}, stop: make(chan struct{}),
		rwSlices: map[string][]string{},
	}
	api := e.kube.CoreV1().Pods(ns)
	sel := clusterLabel + "=" + cluster
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.LabelSelector = sel
			return api.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.LabelSelector = sel
			return api.Watch(ctx, opts)
		},
	}
	inf := cache.NewSharedIndexInformer(lw, &corev1.Pod{}, 0, cache.Indexers{})
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { o.onPod(obj, false) },
		UpdateFunc: func(_, obj any) { o.onPod(obj, false) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			o.onPod(obj, true)
		},
	})
	if err != nil {
		return nil, err
	}
	slices, err := o.sliceInformer(e, ns, cluster+"-rw")
	if err != nil {
		return nil, err
	}
	go inf.Run(o.stop)
	go slices.Run(o.stop)
	if !cache.WaitForCacheSync(o.stop, inf.HasSynced, slices.HasSynced) {
		close(o.stop)
		return nil, fmt.Errorf("the pod and EndpointSlice informers never synced")
	}
	return o, nil
}

// sliceInformer records the addresses the -rw Service routes to, which
// splits the routing step into the EndpointSlice update and kube-proxy.
func (o *observer) sliceInformer(e *env, ns, service string) (cache.SharedIndexInformer, error) {
	api := e.kube.DiscoveryV1().EndpointSlices(ns)
	sel := discoveryv1.LabelServiceName + "=" + service
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.LabelSelector = sel
			return api.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.LabelSelector = sel
			return api.Watch(ctx, opts)
		},
	}
	inf := cache.NewSharedIndexInformer(lw, &discoveryv1.EndpointSlice{}, 0, cache.Indexers{})
	on := func(obj any, deleted bool) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		es, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok {
			return
		}
		var addrs []string
		for _, ep := range es.Endpoints {
			addrs = append(addrs, ep.Addresses...)
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		if deleted {
			delete(o.rwSlices, es.Name)
		} else {
			o.rwSlices[es.Name] = addrs
		}
		ev := sliceEvent{at: time.Now(), addrs: map[string]bool{}}
		for _, l := range o.rwSlices {
			for _, a := range l {
				ev.addrs[a] = true
			}
		}
		o.slices = append(o.slices, ev)
	}
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { on(obj, false) },
		UpdateFunc: func(_, obj any) { on(obj, false) },
		DeleteFunc: func(obj any) { on(obj, true) },
	})
	return inf, err
}

func (o *observer) onPod(obj any, deleted bool) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	ev := podEvent{at: now, deleted: deleted, name: p.Name, uid: p.UID, role: p.Labels[roleLabel],
		fenced: p.Annotations[fencedAnno] == "true", deleting: p.DeletionTimestamp != nil, ip: p.Status.PodIP, grace: -1,
		terminal: cluster.PostgresExited(p)}
	if p.DeletionGracePeriodSeconds != nil {
		ev.grace = *p.DeletionGracePeriodSeconds
	}
	o.events = append(o.events, ev)
	if !deleted && ev.role == "primary" {
		o.labelled[p.UID] = p.Name
	} else {
		delete(o.labelled, p.UID)
	}
	if n := len(o.labelled); n > o.maxLabels {
		o.maxLabels = n
	}
	if len(o.labelled) > 1 {
		o.labelErrs = append(o.labelErrs, fmt.Sprintf("%s: %d pods labelled primary %v", now.Format("15:04:05.000"), len(o.labelled), o.labelled))
	}
	if ip := p.Status.PodIP; ip != "" && !o.samplers[ip] {
		o.samplers[ip] = true
		o.wg.Add(1)
		go o.sample(ip)
	}
}

// sample asks one IP for its role every 50 ms until the observer stops.
func (o *observer) sample(ip string) {
	defer o.wg.Done()
	t := o.target(ip)
	var db *sql.DB
	var conn *sql.Conn
	defer func() {
		if conn != nil {
			conn.Close()
			db.Close()
		}
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	ctx := context.Background()
	for {
		select {
		case <-o.stop:
			return
		case <-tick.C:
		}
		if conn == nil {
			var err error
			if db, conn, err = t.open(ctx, time.Second); err != nil {
				db, conn = nil, nil
				continue
			}
		}
		s := roleSample{sent: time.Now()}
		var inRecovery bool
		inc, err := scanIncarnation(conn.QueryRowContext(ctx,
			"select pg_is_in_recovery(), current_setting('cluster_name'), pg_postmaster_start_time()"), &inRecovery)
		if err != nil {
			conn.Close()
			db.Close()
			db, conn = nil, nil
			continue
		}
		s.recv, s.primary, s.on = time.Now(), !inRecovery, inc
		o.mu.Lock()
		o.samples = append(o.samples, s)
		o.mu.Unlock()
	}
}

// halt stops the informer and the samplers.
func (o *observer) halt() {
	close(o.stop)
	o.wg.Wait()
}

// sampledAll reports whether every known IP has answered at least once
// since t, which is when a run may inject its fault.
func (o *observer) sampledAll(since time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	answered := map[string]bool{}
	for _, s := range o.samples {
		if s.recv.After(since) {
			answered[s.on.member] = true
		}
	}
	live := map[string]bool{}
	for _, ev := range o.latestPods() {
		if !ev.deleted {
			live[ev.name] = true
		}
	}
	for name := range live {
		if !answered[name] {
			return false
		}
	}
	return len(live) > 0
}

// latestPods is the last event of every pod UID (mu held).
func (o *observer) latestPods() map[types.UID]podEvent {
	out := map[types.UID]podEvent{}
	for _, ev := range o.events {
		out[ev.uid] = ev
	}
	return out
}

// currentPrimary is the pod labelled primary and the incarnation that last
// answered as primary before t.
func (o *observer) currentPrimary(t time.Time) (podEvent, incarnation, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var pod podEvent
	for _, ev := range o.latestPods() {
		if !ev.deleted && ev.role == "primary" {
			pod = ev
		}
	}
	var inc incarnation
	var last time.Time
	for _, s := range o.samples {
		if s.primary && s.recv.Before(t) && s.recv.After(last) {
			inc, last = s.on, s.recv
		}
	}
	if pod.name == "" || inc.member != pod.name {
		return pod, inc, fmt.Errorf("labelled primary %q but %q answers as primary", pod.name, inc.member)
	}
	return pod, inc, nil
}
