package controller

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	pgfake "postgres-operator.dev/postgres-operator/pkg/client/clientset/versioned/fake"
	pginformers "postgres-operator.dev/postgres-operator/pkg/client/informers/externalversions"
)

// waitTimeout bounds every wait; tests wait on conditions, never on sleeps.
const waitTimeout = 10 * time.Second

var (
	clustersGVR = v1alpha1.SchemeGroupVersion.WithResource("postgresclusters")
	podsGVR     = corev1.SchemeGroupVersion.WithResource("pods")
)

// waitUntil polls cond until it holds or waitTimeout passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, waitTimeout, 2*time.Millisecond, "timed out waiting for %s", what)
}

// waitClosed waits for ch to be closed.
func waitClosed(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// fakeRunner records what the controller does to one runner.
type fakeRunner struct {
	key     cache.ObjectName
	initial *v1alpha1.PostgresCluster
	report  func(error)

	started   chan struct{} // closed when Run starts
	startedAt time.Time     // when Run started; read after started is closed
	stopped   chan struct{} // closed when Run is about to return
	panicWith any           // if non-nil, Run panics with it right after starting
	release   chan struct{} // if non-nil, Run ignores cancellation until closed
	ctxErr    error         // ctx.Err() seen by Run; read after stopped

	mu      sync.Mutex
	updates []*v1alpha1.PostgresCluster
}

func (r *fakeRunner) Run(ctx context.Context) {
	r.startedAt = time.Now()
	close(r.started)
	if r.panicWith != nil {
		panic(r.panicWith)
	}
	<-ctx.Done()
	if r.release != nil {
		<-r.release
	}
	r.ctxErr = ctx.Err()
	close(r.stopped)
}

func (r *fakeRunner) Update(pgc *v1alpha1.PostgresCluster) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates = append(r.updates, pgc)
}

func (r *fakeRunner) numUpdates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.updates)
}

func (r *fakeRunner) update(i int) *v1alpha1.PostgresCluster {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.updates[i]
}

// waitUpdate waits for an Update that satisfies ok and returns it.
func (r *fakeRunner) waitUpdate(t *testing.T, what string, ok func(*v1alpha1.PostgresCluster) bool) *v1alpha1.PostgresCluster {
	t.Helper()
	var found *v1alpha1.PostgresCluster
	waitUntil(t, what, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, u := range r.updates {
			if ok(u) {
				found = u
				return true
			}
		}
		return false
	})
	return found
}

// fakeRunners is a NewRunnerFunc that keeps every runner it built.
type fakeRunners struct {
	mu    sync.Mutex
	byKey map[cache.ObjectName][]*fakeRunner
	stuck bool // new runners ignore cancellation until released
	// panics is how many of the next runners built panic in Run.
	panics int
}

func newFakeRunners() *fakeRunners {
	return &fakeRunners{byKey: make(map[cache.ObjectName][]*fakeRunner)}
}

func (f *fakeRunners) newRunner(key cache.ObjectName, pgc *v1alpha1.PostgresCluster, report func(error)) Runner {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := &fakeRunner{
		key: key, initial: pgc, report: report,
		started: make(chan struct{}), stopped: make(chan struct{}),
	}
	if f.stuck {
		r.release = make(chan struct{})
	}
	if f.panics > 0 {
		f.panics--
		r.panicWith = fmt.Sprintf("boom %d", len(f.byKey[key])+1)
	}
	f.byKey[key] = append(f.byKey[key], r)
	return r
}

func (f *fakeRunners) setPanics(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.panics = n
}

func (f *fakeRunners) setStuck(stuck bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stuck = stuck
}

func (f *fakeRunners) count(key cache.ObjectName) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.byKey[key])
}

// waitRunner waits until key has n runners built and returns the last.
func (f *fakeRunners) waitRunner(t *testing.T, key cache.ObjectName, n int) *fakeRunner {
	t.Helper()
	waitUntil(t, "runner for "+key.String(), func() bool { return f.count(key) >= n })
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byKey[key][n-1]
}

// fixture is a controller wired to fake clientsets through real informer
// factories, one pair per watched namespace.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	pg       *pgfake.Clientset
	kube     *kubefake.Clientset
	recorder *record.FakeRecorder
	runners  *fakeRunners
	ctrl     *Controller

	pgFactories   map[string]pginformers.SharedInformerFactory
	kubeFactories map[string]kubeinformers.SharedInformerFactory
	watches       atomic.Int32 // watches the informers have established
	// nodes, when set (watchNodes), is the cluster-wide node informer's factory.
	nodes       kubeinformers.SharedInformerFactory
	nodeWatches int32
}

// newFixture seeds the clientsets with objects (PostgresClusters go to the
// postgres clientset, the rest to kube) and builds the controller.
func newFixture(t *testing.T, opts Options, namespaces []string, objects ...runtime.Object) *fixture {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	var pgObjs, kubeObjs []runtime.Object
	for _, o := range objects {
		if _, ok := o.(*v1alpha1.PostgresCluster); ok {
			pgObjs = append(pgObjs, o)
		} else {
			kubeObjs = append(kubeObjs, o)
		}
	}
	f := &fixture{
		t:             t,
		ctx:           ctx,
		pg:            pgfake.NewClientset(pgObjs...),
		kube:          kubefake.NewClientset(kubeObjs...),
		recorder:      record.NewFakeRecorder(100),
		runners:       newFakeRunners(),
		pgFactories:   make(map[string]pginformers.SharedInformerFactory),
		kubeFactories: make(map[string]kubeinformers.SharedInformerFactory),
	}
	f.countWatches(f.pg)
	f.countWatches(f.kube)
	var infs []NamespaceInformers
	for _, ns := range namespaces {
		pgf := pginformers.NewSharedInformerFactoryWithOptions(f.pg, 0, pginformers.WithNamespace(ns))
		kf := kubeinformers.NewSharedInformerFactoryWithOptions(f.kube, 0, kubeinformers.WithNamespace(ns))
		f.pgFactories[ns], f.kubeFactories[ns] = pgf, kf
		infs = append(infs, namespaceInformers(ns, pgf, kf))
	}
	ctrl, err := New(f.recorder, infs, f.runners.newRunner, opts)
	require.NoError(t, err)
	ctrl.logger = klog.FromContext(ctx) // handler errors go to the test log
	f.ctrl = ctrl
	t.Cleanup(ctrl.queue.ShutDown)
	return f
}

func namespaceInformers(ns string, pgf pginformers.SharedInformerFactory, kf kubeinformers.SharedInformerFactory) NamespaceInformers {
	core := kf.Core().V1()
	return NamespaceInformers{
		Namespace:  ns,
		Clusters:   pgf.Postgres().V1alpha1().PostgresClusters(),
		Pods:       core.Pods(),
		PVCs:       core.PersistentVolumeClaims(),
		Services:   core.Services(),
		Secrets:    core.Secrets(),
		ConfigMaps: core.ConfigMaps(),
		PDBs:       kf.Policy().V1().PodDisruptionBudgets(),
	}
}

// run starts the informers and the controller; cleanup stops both and checks
// the controller wrote nothing. It returns a func that stops the controller
// and returns Run's error.
func (f *fixture) run() (stop func() error) {
	ctx, cancel := context.WithCancel(f.ctx)
	for _, pgf := range f.pgFactories {
		pgf.Start(ctx.Done())
	}
	for _, kf := range f.kubeFactories {
		kf.Start(ctx.Done())
	}
	if f.nodes != nil {
		f.nodes.Start(ctx.Done())
	}
	errc := make(chan error, 1)
	go func() { errc <- f.ctrl.Run(ctx) }()
	// A cache can be synced before its watch exists, and the fake tracker does
	// not replay a deletion made in between: wait for all seven watches per
	// namespace (and the nodes', when watched) before a test mutates anything.
	want := int32(7*len(f.pgFactories)) + f.nodeWatches
	waitUntil(f.t, "informer watches", func() bool { return f.watches.Load() >= want })

	var once sync.Once
	var runErr error
	shutdown := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-errc:
			case <-time.After(waitTimeout):
				f.t.Errorf("controller Run did not return")
			}
			for _, pgf := range f.pgFactories {
				pgf.Shutdown()
			}
			for _, kf := range f.kubeFactories {
				kf.Shutdown()
			}
			if f.nodes != nil {
				f.nodes.Shutdown()
			}
		})
		return runErr
	}
	var checkedByTest atomic.Bool
	f.t.Cleanup(func() {
		if err := shutdown(); err != nil && !checkedByTest.Load() {
			f.t.Errorf("controller Run: %v", err)
		}
		f.assertOnlyReads()
	})
	return func() error {
		checkedByTest.Store(true)
		return shutdown()
	}
}

type fakeClient interface {
	PrependWatchReactor(resource string, reaction clienttesting.WatchReactionFunc)
	Tracker() clienttesting.ObjectTracker
}

// countWatches serves watches from the tracker like the default reactor, and
// counts them once they exist.
func (f *fixture) countWatches(c fakeClient) {
	tracker := c.Tracker()
	c.PrependWatchReactor("*", func(action clienttesting.Action) (bool, watch.Interface, error) {
		var opts metav1.ListOptions
		if wa, ok := action.(clienttesting.WatchActionImpl); ok {
			opts = wa.ListOptions
		}
		w, err := tracker.Watch(action.GetResource(), action.GetNamespace(), opts)
		if err != nil {
			return false, nil, err
		}
		f.watches.Add(1)
		return true, w, nil
	})
}

// flush returns once every key queued before the call has been processed. It
// needs Options{Workers: 1} (a FIFO queue) and a runner for barrier. Two
// rounds: a key in flight during the first may be re-queued behind it.
func (f *fixture) flush(barrier *fakeRunner) {
	f.t.Helper()
	for range 2 {
		before := barrier.numUpdates()
		f.ctrl.queue.Add(barrier.key)
		waitUntil(f.t, "barrier", func() bool { return barrier.numUpdates() > before })
	}
}

// assertOnlyReads checks that the only actions recorded by the fake
// clientsets are the informers' list and watch calls (the tests mutate
// objects through the trackers, which record nothing). With fake runners it
// guards against the Controller, which holds no clientset, ever calling the
// API itself; with real runners (nowrites_test.go) it holds them to no
// writes after the test's last ClearActions.
func (f *fixture) assertOnlyReads() {
	f.t.Helper()
	for _, c := range []struct {
		name    string
		actions []clienttesting.Action
	}{{"postgres", f.pg.Actions()}, {"kube", f.kube.Actions()}} {
		for _, a := range c.actions {
			if v := a.GetVerb(); v != "list" && v != "watch" {
				f.t.Errorf("%s clientset: unexpected %s %s", c.name, v, a.GetResource().Resource)
			}
		}
	}
}

// syncCtx is the context syncHandler gets in tests that call it directly.
func (f *fixture) syncCtx() context.Context {
	ctx, cancel := context.WithCancel(f.ctx)
	f.t.Cleanup(func() {
		cancel()
		stopCtx, done := context.WithTimeout(context.Background(), waitTimeout)
		defer done()
		if err := f.ctrl.runners.stopAll(stopCtx); err != nil {
			f.t.Errorf("stopAll: %v", err)
		}
	})
	return ctx
}

// seedCluster puts pgc straight into the informer indexer of its namespace
// (the sample-controller pattern for tests that call syncHandler directly).
func (f *fixture) seedCluster(ns string, pgc *v1alpha1.PostgresCluster) {
	f.t.Helper()
	idx := f.pgFactories[ns].Postgres().V1alpha1().PostgresClusters().Informer().GetIndexer()
	require.NoError(f.t, idx.Add(pgc))
}

func (f *fixture) unseedCluster(ns string, pgc *v1alpha1.PostgresCluster) {
	f.t.Helper()
	idx := f.pgFactories[ns].Postgres().V1alpha1().PostgresClusters().Informer().GetIndexer()
	require.NoError(f.t, idx.Delete(pgc))
}

func (f *fixture) updateCluster(pgc *v1alpha1.PostgresCluster) {
	f.t.Helper()
	require.NoError(f.t, f.pg.Tracker().Update(clustersGVR, pgc, pgc.Namespace))
}

func (f *fixture) deleteCluster(pgc *v1alpha1.PostgresCluster) {
	f.t.Helper()
	require.NoError(f.t, f.pg.Tracker().Delete(clustersGVR, pgc.Namespace, pgc.Name))
}

func (f *fixture) createPod(pod *corev1.Pod) {
	f.t.Helper()
	require.NoError(f.t, f.kube.Tracker().Create(podsGVR, pod, pod.Namespace))
}

func (f *fixture) updatePod(pod *corev1.Pod) {
	f.t.Helper()
	require.NoError(f.t, f.kube.Tracker().Update(podsGVR, pod, pod.Namespace))
}

func (f *fixture) deletePod(pod *corev1.Pod) {
	f.t.Helper()
	require.NoError(f.t, f.kube.Tracker().Delete(podsGVR, pod.Namespace, pod.Name))
}

func newCluster(ns, name string) *v1alpha1.PostgresCluster {
	return &v1alpha1.PostgresCluster{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name), ResourceVersion: "1",
		},
		Spec: v1alpha1.PostgresClusterSpec{Size: 1},
	}
}

// ownedPod is a member pod with a controller reference to pgc (and the label).
func ownedPod(pgc *v1alpha1.PostgresCluster, name string) *corev1.Pod {
	pod := labeledPod(pgc.Namespace, name, pgc.Name)
	pod.OwnerReferences = []metav1.OwnerReference{
		*metav1.NewControllerRef(pgc, v1alpha1.SchemeGroupVersion.WithKind("PostgresCluster")),
	}
	return pod
}

// labeledPod carries only the cluster label, no owner reference.
func labeledPod(ns, name, cluster string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Namespace: ns, Name: name, ResourceVersion: "1",
		Labels: map[string]string{ClusterLabel: cluster},
	}}
}

func keyOf(pgc *v1alpha1.PostgresCluster) cache.ObjectName {
	return cache.NewObjectName(pgc.Namespace, pgc.Name)
}

// watchNodes gives the controller a cluster-wide node informer over the
// fake kube clientset, as cmd/postgres-operator does when it may list nodes.
func (f *fixture) watchNodes() {
	f.t.Helper()
	f.nodes = kubeinformers.NewSharedInformerFactory(f.kube, 0)
	f.nodeWatches = 1
	require.NoError(f.t, f.ctrl.WatchNodes(f.nodes.Core().V1().Nodes()))
}
