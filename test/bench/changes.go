package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// changeCounter watches every kind the operator writes in one namespace
// and counts the changes that reach etcd, by kind and by the field manager
// that made them (from managedFields; for Events, the reporting
// component). It cross-checks the FlowSchema count and says what was written.
type changeCounter struct {
	mu     sync.Mutex
	counts map[string]int
	names  map[string][]string // the first few objects of each key, to say which were written
	stop   []func()
	wg     sync.WaitGroup
}

func (e *env) startChangeCounter(ctx context.Context, ns string) (*changeCounter, error) {
	c := &changeCounter{counts: map[string]int{}, names: map[string][]string{}}
	core := e.kube.CoreV1()
	pgc := e.pg.PostgresV1alpha1().PostgresClusters(ns)
	type lw struct {
		list  func(context.Context) (string, error) // returns the list's resourceVersion
		watch func(context.Context, metav1.ListOptions) (watch.Interface, error)
	}
	one := metav1.ListOptions{Limit: 1}
	watchers := map[string]lw{
		"Pod": {func(ctx context.Context) (string, error) { l, err := core.Pods(ns).List(ctx, one); return rvOf(l, err) }, core.Pods(ns).Watch},
		"PersistentVolumeClaim": {func(ctx context.Context) (string, error) {
			l, err := core.PersistentVolumeClaims(ns).List(ctx, one)
			return rvOf(l, err)
		}, core.PersistentVolumeClaims(ns).Watch},
		"Service": {func(ctx context.Context) (string, error) {
			l, err := core.Services(ns).List(ctx, one)
			return rvOf(l, err)
		}, core.Services(ns).Watch},
		"Secret": {func(ctx context.Context) (string, error) {
			l, err := core.Secrets(ns).List(ctx, one)
			return rvOf(l, err)
		}, core.Secrets(ns).Watch},
		"Event": {func(ctx context.Context) (string, error) {
			l, err := core.Events(ns).List(ctx, one)
			return rvOf(l, err)
		}, core.Events(ns).Watch},
		"PostgresCluster": {func(ctx context.Context) (string, error) { l, err := pgc.List(ctx, one); return rvOf(l, err) }, pgc.Watch},
	}
	for kind, w := range watchers {
		// Watching from the list's resourceVersion: only changes from now on.
		rv, err := w.list(ctx)
		if err != nil {
			c.close()
			return nil, err
		}
		wi, err := w.watch(ctx, metav1.ListOptions{ResourceVersion: rv})
		if err != nil {
			c.close()
			return nil, fmt.Errorf("watching %s: %w", kind, err)
		}
		c.stop = append(c.stop, wi.Stop)
		c.wg.Add(1)
		go c.count(kind, wi)
	}
	return c, nil
}

func rvOf(l metav1.ListInterface, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return l.GetResourceVersion(), nil
}

func (c *changeCounter) count(kind string, w watch.Interface) {
	defer c.wg.Done()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Bookmark || ev.Type == watch.Error {
			continue
		}
		key := fmt.Sprintf("%s %s by %s", kind, strings.ToLower(string(ev.Type)), manager(ev.Object))
		c.mu.Lock()
		c.counts[key]++
		c.noteName(key, ev.Object)
		c.mu.Unlock()
	}
}

// namesPerKey bounds the objects listed for one key: enough to tell a
// cluster in the middle of a failover from a healthy one.
const namesPerKey = 3

func (c *changeCounter) noteName(key string, obj any) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	names := c.names[key]
	if len(names) >= namesPerKey || slices.Contains(names, m.GetName()) {
		return
	}
	c.names[key] = append(names, m.GetName())
}

// manager names who made a change: the most recent managedFields entry,
// or the reporting component of an Event.
func manager(obj any) string {
	if ev, ok := obj.(*corev1.Event); ok {
		if ev.ReportingController != "" {
			return ev.ReportingController
		}
		return ev.Source.Component
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return "?"
	}
	var latest metav1.ManagedFieldsEntry
	for _, f := range m.GetManagedFields() {
		if f.Time != nil && (latest.Time == nil || !f.Time.Before(latest.Time)) {
			latest = f
		}
	}
	if latest.Manager == "" {
		return "?"
	}
	if latest.Subresource != "" {
		return latest.Manager + " (" + latest.Subresource + ")"
	}
	return latest.Manager
}

func (c *changeCounter) close() {
	for _, s := range c.stop {
		s()
	}
	c.wg.Wait()
}

// operatorManager is the operator's name in managedFields (client-go takes
// it from the user agent) and in its Events' source.
const operatorManager = "postgres-operator"

// byOperator counts the changes the operator made.
func (c *changeCounter) byOperator() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, v := range c.counts {
		if m := k[strings.Index(k, " by ")+len(" by "):]; m == operatorManager || strings.HasPrefix(m, operatorManager+" ") {
			n += v
		}
	}
	return n
}

// summary lists the changes seen, most frequent first.
func (c *changeCounter) summary() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	var keys []string
	for k, n := range c.counts {
		total += n
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return c.counts[keys[i]] > c.counts[keys[j]] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d× %s [%s]", c.counts[k], k, strings.Join(c.names[k], ", ")))
	}
	if len(parts) == 0 {
		return 0, "none"
	}
	return total, strings.Join(parts, "; ")
}
