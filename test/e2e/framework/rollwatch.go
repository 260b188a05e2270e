//go:build e2e

package framework

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	pginformers "postgres-operator.dev/postgres-operator/pkg/client/informers/externalversions"
)

// RollWatch follows a cluster's member pods and status through a watch,
// so it sees every change rather than samples: the most members unready
// at any one moment, the order in which member pods began terminating, and
// whether status.pendingRestart was ever true.
type RollWatch struct {
	mu          sync.Mutex
	members     []string
	pods        map[string]*corev1.Pod
	seen        map[types.UID]bool
	armed       bool
	report      RollReport
	stop        chan struct{}
	stopOnce    sync.Once
	pendingSeen bool
	wasDown     map[string]bool
}

// RollReport is what a RollWatch saw.
type RollReport struct {
	// MaxNotReady is the most members that were missing, terminating or
	// not Ready at the same moment; Worst describes that moment.
	MaxNotReady int
	Worst       string
	// Terminated lists members in the order their pods began terminating.
	Terminated []string
	// PendingRestartSeen is true if status.pendingRestart was ever true.
	PendingRestartSeen bool
	// Timeline lists each member's changes between ready and not ready,
	// with the time the watch saw them.
	Timeline []string
}

// WatchRoll starts watching the given members of a cluster. Every member
// must be ready when it starts.
func (f *Framework) WatchRoll(t testing.TB, ns, cluster string, members []string) *RollWatch {
	t.Helper()
	w := &RollWatch{members: members, pods: map[string]*corev1.Pod{}, seen: map[types.UID]bool{}, stop: make(chan struct{}),
		wasDown: map[string]bool{}}
	pods := informers.NewSharedInformerFactoryWithOptions(f.Kube, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = ClusterLabel + "=" + cluster }))
	podInf := pods.Core().V1().Pods().Informer()
	_, err := podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.podChanged(obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj any) { w.podChanged(obj.(*corev1.Pod)) },
		DeleteFunc: w.podDeleted,
	})
	require.NoError(t, err)
	pgcs := pginformers.NewSharedInformerFactoryWithOptions(f.PG, 0, pginformers.WithNamespace(ns))
	pgcInf := pgcs.Postgres().V1alpha1().PostgresClusters().Informer()
	_, err = pgcInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.clusterChanged(obj, cluster) },
		UpdateFunc: func(_, obj any) { w.clusterChanged(obj, cluster) },
	})
	require.NoError(t, err)
	pods.Start(w.stop)
	pgcs.Start(w.stop)
	require.True(t, cache.WaitForCacheSync(w.stop, podInf.HasSynced, pgcInf.HasSynced))
	w.mu.Lock()
	w.armed = true
	w.evaluate()
	start := w.report.MaxNotReady
	w.mu.Unlock()
	require.Zero(t, start, "every member must be ready before the watch starts: %s", w.report.Worst)
	t.Cleanup(func() { w.Stop() })
	return w
}

// Stop ends the watch and returns what it saw.
func (w *RollWatch) Stop() RollReport {
	w.stopOnce.Do(func() { close(w.stop) })
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.report
	r.Terminated = append([]string(nil), r.Terminated...)
	r.Timeline = append([]string(nil), r.Timeline...)
	r.PendingRestartSeen = w.pendingSeen
	return r
}

// PendingRestartSeen reports whether status.pendingRestart was true yet.
func (w *RollWatch) PendingRestartSeen() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pendingSeen
}

func (w *RollWatch) clusterChanged(obj any, name string) {
	pgc, ok := obj.(*v1alpha1.PostgresCluster)
	if !ok || pgc.Name != name {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pendingSeen = w.pendingSeen || pgc.Status.PendingRestart
}

func (w *RollWatch) podChanged(p *corev1.Pod) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pods[p.Name] = p
	if p.DeletionTimestamp != nil {
		w.terminated(p)
	}
	w.evaluate()
}

func (w *RollWatch) podDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if cur := w.pods[p.Name]; cur != nil && cur.UID == p.UID {
		delete(w.pods, p.Name)
	}
	w.terminated(p)
	w.evaluate()
}

// terminated records the first sign of a pod's end, once per pod UID.
func (w *RollWatch) terminated(p *corev1.Pod) {
	if w.armed && !w.seen[p.UID] {
		w.report.Terminated = append(w.report.Terminated, p.Name)
	}
	w.seen[p.UID] = true
}

// evaluate counts the members not ready right now.
func (w *RollWatch) evaluate() {
	if !w.armed {
		return
	}
	var down []string
	now := time.Now().Format("15:04:05.000")
	for _, m := range w.members {
		p := w.pods[m]
		isDown := p == nil || p.DeletionTimestamp != nil || !PodReady(p)
		if isDown {
			down = append(down, m)
		}
		if isDown != w.wasDown[m] {
			w.wasDown[m] = isDown
			w.report.Timeline = append(w.report.Timeline, fmt.Sprintf("%s %s ready=%v", now, m, !isDown))
		}
	}
	if len(down) > w.report.MaxNotReady {
		sort.Strings(down)
		w.report.MaxNotReady = len(down)
		w.report.Worst = fmt.Sprintf("at %s not ready: %s", now, strings.Join(down, ", "))
	}
}
