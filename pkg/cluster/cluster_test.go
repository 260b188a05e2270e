package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	testingclock "k8s.io/utils/clock/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	pgfake "postgres-operator.dev/postgres-operator/pkg/client/clientset/versioned/fake"
	pginformers "postgres-operator.dev/postgres-operator/pkg/client/informers/externalversions"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

// actorFixture runs one cluster actor against fake clientsets, real
// informers over them and a fake PostgreSQL.
type actorFixture struct {
	t    *testing.T
	ctx  context.Context
	kube *kubefake.Clientset
	pg   *pgfake.Clientset
	db   *dbfake.Fake
	hb   *fakeHeartbeats // fence_heartbeat_test.go
	c    *Cluster
	key  cache.ObjectName
}

func newActorFixture(t *testing.T, pgc *v1alpha1.PostgresCluster, kubeObjects ...runtime.Object) *actorFixture {
	return newActorFixtureAsIs(t, pgc, withTLSSecrets(t, pgc, kubeObjects)...) // tls_fixture_test.go
}

// newActorFixtureAsIs is newActorFixture without the TLS Secrets added.
func newActorFixtureAsIs(t *testing.T, pgc *v1alpha1.PostgresCluster, kubeObjects ...runtime.Object) *actorFixture {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f := &actorFixture{t: t, ctx: ctx, kube: kubefake.NewClientset(kubeObjects...), pg: pgfake.NewClientset(pgc), db: dbfake.New()}
	kubeWatches := watchStarts(&f.kube.Fake, f.kube.Tracker())
	pgWatches := watchStarts(&f.pg.Fake, f.pg.Tracker())
	kf := kubeinformers.NewSharedInformerFactory(f.kube, 0)
	pf := pginformers.NewSharedInformerFactory(f.pg, 0)
	listers := Listers{
		Clusters: pf.Postgres().V1alpha1().PostgresClusters().Lister(),
		Pods:     kf.Core().V1().Pods().Lister(),
		PVCs:     kf.Core().V1().PersistentVolumeClaims().Lister(),
		Services: kf.Core().V1().Services().Lister(),
		Secrets:  kf.Core().V1().Secrets().Lister(),
		PDBs:     kf.Policy().V1().PodDisruptionBudgets().Lister(),
		Nodes:    kf.Core().V1().Nodes().Lister(),
	}
	var err error
	listers.ByCluster, err = NewClusterIndex(kf.Core().V1().Pods().Informer(), kf.Core().V1().PersistentVolumeClaims().Informer(),
		kf.Core().V1().Secrets().Informer(), kf.Core().V1().Services().Informer(), kf.Policy().V1().PodDisruptionBudgets().Informer())
	require.NoError(t, err)
	kf.Start(ctx.Done())
	pf.Start(ctx.Done())
	kf.WaitForCacheSync(ctx.Done())
	pf.WaitForCacheSync(ctx.Done())
	// A synced cache has listed, not yet watched: the fake API loses a
	// change made before the watch starts (a pod deleted then stayed in
	// the lister for good on a loaded machine). Wait for every watch.
	waitWatches(t, kubeWatches, "pods", "persistentvolumeclaims", "services", "secrets", "poddisruptionbudgets", "nodes")
	waitWatches(t, pgWatches, "postgresclusters")
	f.hb = &fakeHeartbeats{}
	cfg := &Config{Kube: f.kube, Client: f.pg, Listers: listers, Recorder: record.NewFakeRecorder(100), Postgres: f.db,
		Heartbeat: f.hb.start}
	f.key = cache.ObjectName{Namespace: pgc.Namespace, Name: pgc.Name}
	f.c = New(cfg, f.key, pgc, func(err error) { t.Logf("report: %v", err) })
	return f
}

// watchStarts reports the resource of every watch the fake API starts,
// once the tracker has registered it.
func watchStarts(fake *k8stesting.Fake, tracker k8stesting.ObjectTracker) <-chan string {
	started := make(chan string, 64)
	fake.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		var opts metav1.ListOptions
		if wa, ok := a.(k8stesting.WatchActionImpl); ok {
			opts = wa.ListOptions
		}
		w, err := tracker.Watch(a.GetResource(), a.GetNamespace(), opts)
		if err != nil {
			return false, nil, err
		}
		select {
		case started <- a.GetResource().Resource:
		default:
		}
		return true, w, nil
	})
	return started
}

// waitWatches waits until a watch of each resource has started.
func waitWatches(t *testing.T, started <-chan string, resources ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, r := range resources {
		want[r] = true
	}
	timeout := time.After(30 * time.Second)
	for len(want) > 0 {
		select {
		case r := <-started:
			delete(want, r)
		case <-timeout:
			t.Fatalf("watches never started: %v", want)
		}
	}
}

// current is the PostgresCluster as stored.
func (f *actorFixture) current() *v1alpha1.PostgresCluster {
	pgc, err := f.pg.PostgresV1alpha1().PostgresClusters(f.key.Namespace).Get(f.ctx, f.key.Name, metav1.GetOptions{})
	require.NoError(f.t, err)
	return pgc
}

// passUntil runs passes with the stored object until cond holds.
func (f *actorFixture) passUntil(what string, cond func() bool) {
	f.t.Helper()
	require.Eventually(f.t, func() bool {
		_, err := f.c.reconcile(f.ctx, f.current())
		if apierrors.IsAlreadyExists(err) {
			// The informer had not yet delivered what the pass before
			// created (seen on a loaded machine): the actor retries too.
			return false
		}
		require.NoError(f.t, err)
		return cond()
	}, 10*time.Second, 10*time.Millisecond, what)
}

func (f *actorFixture) exists(get func() error) func() bool {
	return func() bool { return get() == nil }
}

// runPod marks a pod running and ready at ip, and gives it a PostgreSQL.
func (f *actorFixture) runPod(name, ip string, srv dbfake.Server) {
	pods := f.kube.CoreV1().Pods(f.key.Namespace)
	pod, err := pods.Get(f.ctx, name, metav1.GetOptions{})
	require.NoError(f.t, err)
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	_, err = pods.UpdateStatus(f.ctx, pod, metav1.UpdateOptions{})
	require.NoError(f.t, err)
	if srv.Parameters == nil {
		// What initdb wrote into postgresql.auto.conf from BOOTSTRAP_PARAMETERS.
		srv.Parameters = desiredParameters(f.current())
	}
	f.db.Add(ip, srv)
}

func TestBootstrapFromNothing(t *testing.T) {
	f := newActorFixture(t, testCluster(1))
	ns := f.key.Namespace

	f.passUntil("seed pod created", f.exists(func() error {
		_, err := f.kube.CoreV1().Pods(ns).Get(f.ctx, "demo-1", metav1.GetOptions{})
		return err
	}))
	for _, name := range []string{"demo-superuser", "demo-replication"} {
		_, err := f.kube.CoreV1().Secrets(ns).Get(f.ctx, name, metav1.GetOptions{})
		require.NoError(t, err, name)
	}
	_, err := f.kube.CoreV1().PersistentVolumeClaims(ns).Get(f.ctx, "demo-1-data", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), f.current().Status.LastOrdinal, "ordinal recorded in the API")
	assert.False(t, f.current().Status.Initialized)
	assert.Equal(t, v1alpha1.PhaseCreating, f.current().Status.Phase)

	f.runPod("demo-1", "10.0.0.1", dbfake.Server{Status: postgres.Status{Timeline: 1}})
	f.passUntil("initialized", func() bool { return f.current().Status.Initialized })
	assert.Equal(t, "demo-1", f.current().Status.Primary)
	srv := f.db.Server("10.0.0.1")
	assert.Contains(t, srv.Roles, "replicator")

	f.passUntil("running", func() bool { return f.current().Status.Phase == v1alpha1.PhaseRunning })
	assert.Equal(t, metav1.ConditionTrue, condition(f.current(), v1alpha1.ConditionReady))
	assert.Equal(t, int32(1), f.current().Status.ReadyMembers)
}

func TestSteadyStateMakesNoAPIWrites(t *testing.T) {
	f := newActorFixture(t, testCluster(1))
	// A fake clock, stepped past every grace (the parameters' reload, the
	// catalog's recheck) before the steady state is judged: on a loaded
	// machine the real one crossed paramsReloadGrace during the check, and
	// the status changed once, as it should.
	clk := testingclock.NewFakeClock(time.Now())
	f.c.cfg.Clock = clk
	f.passUntil("seed pod created", f.exists(func() error {
		_, err := f.kube.CoreV1().Pods("ns").Get(f.ctx, "demo-1", metav1.GetOptions{})
		return err
	}))
	f.runPod("demo-1", "10.0.0.1", dbfake.Server{Status: postgres.Status{Timeline: 1}})
	f.passUntil("ready", func() bool { return condition(f.current(), v1alpha1.ConditionReady) == metav1.ConditionTrue })
	f.passUntil("the disruption budgets in the cache", func() bool {
		_, err := f.c.cfg.Listers.PDBs.PodDisruptionBudgets("ns").Get("demo")
		_, errPrimary := f.c.cfg.Listers.PDBs.PodDisruptionBudgets("ns").Get("demo-primary")
		return err == nil && errPrimary == nil
	})
	// Let SQL-level reconciliation and the status settle: passes, each on
	// caches that hold what the one before wrote, until the stored status
	// says the cluster converged (on a loaded machine the last housekeeping
	// took more than five passes, and the first steady pass wrote it).
	clk.Step(time.Minute)
	for i := 0; ; i++ {
		require.Less(t, i, 50, "converged within 50 passes")
		f.waitCachesCurrent()
		_, err := f.c.reconcile(f.ctx, f.current())
		require.NoError(t, err)
		if c := meta.FindStatusCondition(f.current().Status.Conditions, v1alpha1.ConditionProgressing); i >= 4 && c != nil && c.Reason == "Converged" {
			break
		}
	}
	f.waitCachesCurrent()

	f.kube.ClearActions()
	f.pg.ClearActions()
	for range 3 {
		_, err := f.c.reconcile(f.ctx, f.current())
		require.NoError(t, err)
	}
	assert.Empty(t, writes(f.kube.Actions()), "kube writes in steady state")
	assert.Empty(t, writes(append(f.pg.Actions(), f.kube.Actions()...)), "API writes in steady state")
}

func TestScaleUpCreatesSlotBeforePod(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 1))
	primary := testMember(pgc, 1, up(RolePrimary))
	f := newActorFixture(t, pgc, primary.pod, primary.pvc,
		buildSuperuserSecret(pgc, "pw"), buildReplicationSecret(pgc, "pw"),
		buildServices(pgc)[0], buildServices(pgc)[1])
	f.db.Add("10.0.0.1", dbfake.Server{Status: postgres.Status{Timeline: 1}})

	f.passUntil("replica pod created", f.exists(func() error {
		_, err := f.kube.CoreV1().Pods("ns").Get(f.ctx, "demo-2", metav1.GetOptions{})
		return err
	}))
	assert.Contains(t, f.db.Server("10.0.0.1").Slots, "demo_2", "slot exists before the clone starts")
	pod, err := f.kube.CoreV1().Pods("ns").Get(f.ctx, "demo-2", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, RoleReplica, pod.Labels[RoleLabel])
	assert.Equal(t, BootstrapClone, pod.Annotations[BootstrapAnnotation])
}

func TestPausedMakesNoChanges(t *testing.T) {
	pgc := testCluster(1, func(p *v1alpha1.PostgresCluster) { p.Spec.Paused = true })
	f := newActorFixture(t, pgc)
	_, err := f.c.reconcile(f.ctx, f.current())
	require.NoError(t, err)
	for _, a := range writes(f.kube.Actions()) {
		t.Errorf("paused cluster wrote %s %s", a.GetVerb(), a.GetResource().Resource)
	}
	assert.Equal(t, metav1.ConditionTrue, condition(f.current(), v1alpha1.ConditionPaused))
	assert.Equal(t, v1alpha1.PhasePaused, f.current().Status.Phase)
}

func writes(actions []k8stesting.Action) []k8stesting.Action {
	var out []k8stesting.Action
	for _, a := range actions {
		switch a.GetVerb() {
		case "get", "list", "watch":
		default:
			out = append(out, a)
		}
	}
	return out
}

func condition(pgc *v1alpha1.PostgresCluster, condition string) metav1.ConditionStatus {
	for _, c := range pgc.Status.Conditions {
		if c.Type == condition {
			return c.Status
		}
	}
	return metav1.ConditionUnknown
}

// waitCachesCurrent waits until the listers hold every object the fake API
// stores in the namespace at the version stored: a pass planned on a cache
// behind the operator's own writes repeats them.
func (f *actorFixture) waitCachesCurrent() {
	f.t.Helper()
	ns := f.key.Namespace
	require.Eventually(f.t, func() bool {
		stored, err := f.kube.CoreV1().Pods(ns).List(f.ctx, metav1.ListOptions{})
		require.NoError(f.t, err)
		for _, p := range stored.Items {
			if c, err := f.c.cfg.Listers.Pods.Pods(ns).Get(p.Name); err != nil || c.ResourceVersion != p.ResourceVersion {
				return false
			}
		}
		secrets, err := f.kube.CoreV1().Secrets(ns).List(f.ctx, metav1.ListOptions{})
		require.NoError(f.t, err)
		for _, s := range secrets.Items {
			if c, err := f.c.cfg.Listers.Secrets.Secrets(ns).Get(s.Name); err != nil || c.ResourceVersion != s.ResourceVersion {
				return false
			}
		}
		c, err := f.c.cfg.Listers.Clusters.PostgresClusters(ns).Get(f.key.Name)
		return err == nil && c.ResourceVersion == f.current().ResourceVersion
	}, 10*time.Second, 5*time.Millisecond, "the informer caches caught up")
}
