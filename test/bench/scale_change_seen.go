package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// specWatch records when the bench's own watch on a namespace's
// PostgresClusters delivers each new generation: the moment the API server
// has stored a spec change and sent it to its watchers, the operator's
// informer among them. Time from a patch being sent to then is the API
// server's (a hundred patches at once queue there); from then to the first
// action is the operator's, plus the action's Event on its way back.
type specWatch struct {
	mu   sync.Mutex
	seen map[string]map[int64]time.Time // cluster → generation → arrival
	stop chan struct{}
}

func (e *env) watchSpecs(ns string) (*specWatch, error) {
	api := e.pg.PostgresV1alpha1().PostgresClusters(ns)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return api.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return api.Watch(ctx, o)
		},
	}
	w := &specWatch{seen: map[string]map[int64]time.Time{}, stop: make(chan struct{})}
	inf := cache.NewSharedIndexInformer(lw, &v1alpha1.PostgresCluster{}, 0, cache.Indexers{})
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    w.saw,
		UpdateFunc: func(_, obj any) { w.saw(obj) },
	})
	if err != nil {
		return nil, err
	}
	go inf.Run(w.stop)
	if !cache.WaitForCacheSync(w.stop, inf.HasSynced) {
		close(w.stop)
		return nil, fmt.Errorf("the PostgresCluster informer never synced")
	}
	return w, nil
}

func (w *specWatch) saw(obj any) {
	pgc, ok := obj.(*v1alpha1.PostgresCluster)
	if !ok {
		return
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	gens := w.seen[pgc.Name]
	if gens == nil {
		gens = map[int64]time.Time{}
		w.seen[pgc.Name] = gens
	}
	if _, ok := gens[pgc.Generation]; !ok {
		gens[pgc.Generation] = now
	}
}

// waitGeneration waits until deadline for the watch to deliver the
// cluster's generation gen (or a later one).
func (w *specWatch) waitGeneration(ctx context.Context, name string, gen int64, deadline time.Time) (time.Time, bool) {
	for {
		w.mu.Lock()
		var first time.Time
		for g, at := range w.seen[name] {
			if g >= gen && (first.IsZero() || at.Before(first)) {
				first = at
			}
		}
		w.mu.Unlock()
		if !first.IsZero() {
			return first, true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return time.Time{}, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
