package backup

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	pgfake "postgres-operator.dev/postgres-operator/pkg/client/clientset/versioned/fake"
	pginformers "postgres-operator.dev/postgres-operator/pkg/client/informers/externalversions"
)

const waitTimeout = 10 * time.Second

// runFixture is the controller running over started informers: the
// handlers, queues and workers as the operator wires them.
type runFixture struct {
	*fixture
	watches atomic.Int32
}

func newRunFixture(t *testing.T) *runFixture {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	f := &runFixture{fixture: &fixture{
		t: t, ctx: ctx,
		kube: kubefake.NewClientset(), pg: pgfake.NewSimpleClientset(),
		clock: testingclock.NewFakeClock(t0), recorder: &recorder{}, logs: map[string]string{},
	}}
	f.countWatches(f.kube)
	f.countWatches(f.pg)
	kf := kubeinformers.NewSharedInformerFactory(f.kube, 0)
	pf := pginformers.NewSharedInformerFactory(f.pg, 0)
	f.inf = Informers{
		Clusters: pf.Postgres().V1alpha1().PostgresClusters(),
		Backups:  pf.Postgres().V1alpha1().PostgresBackups(),
		Jobs:     kf.Batch().V1().Jobs(),
		Pods:     kf.Core().V1().Pods(),
	}
	c, err := New(Config{Kube: f.kube, Client: f.pg, Recorder: f.recorder, Informers: []Informers{f.inf},
		Clock: f.clock, ReadLog: f.readLog, Workers: 1})
	require.NoError(t, err)
	f.c = c

	runCtx, cancel := context.WithCancel(ctx)
	kf.Start(runCtx.Done())
	pf.Start(runCtx.Done())
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		kf.Shutdown()
		pf.Shutdown()
	})
	// The fake tracker does not replay what happens before a watch exists.
	f.waitUntil("informer watches", func() bool { return f.watches.Load() >= 4 })
	return f
}

func (f *runFixture) countWatches(c interface {
	PrependWatchReactor(string, clienttesting.WatchReactionFunc)
	Tracker() clienttesting.ObjectTracker
}) {
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

func (f *runFixture) waitUntil(what string, cond func() bool) {
	f.t.Helper()
	require.Eventually(f.t, cond, waitTimeout, 2*time.Millisecond, "timed out waiting for %s", what)
}

func (f *runFixture) waitPhase(name string, phase v1alpha1.BackupPhase) {
	f.t.Helper()
	f.waitUntil(name+" "+string(phase), func() bool {
		b, err := f.pg.PostgresV1alpha1().PostgresBackups(ns).Get(f.ctx, name, metav1.GetOptions{})
		return err == nil && b.Status.Phase == phase
	})
}

// A backup goes from its creation to Completed through the informers alone.
func TestControllerRunsABackup(t *testing.T) {
	f := newRunFixture(t)
	f.create(cluster("demo"))
	f.create(backupOf("b1", "demo"))
	f.waitPhase("b1", v1alpha1.BackupPending)

	f.create(memberPod("demo", "demo-1", true, true)) // a ready primary wakes it
	f.waitPhase("b1", v1alpha1.BackupRunning)

	f.create(backupOf("b2", "demo"))
	f.waitPhase("b2", v1alpha1.BackupPending)
	f.finishJob("b1", true, sampleLog(t, incrLabel), "")
	f.waitPhase("b1", v1alpha1.BackupCompleted)
	f.waitPhase("b2", v1alpha1.BackupRunning) // woken by b1's Job ending
}

// A schedule fires at the cluster's creation's next firing, then a day later
// when the clock gets there.
func TestControllerRunsASchedule(t *testing.T) {
	f := newRunFixture(t)
	f.create(scheduledCluster("0 3 * * *")) // created on 4 January at 12:00; the clock is at 03:00 on the 5th
	f.waitPhase("demo-20260105030000", v1alpha1.BackupPending)
	// Hour by hour, up to an hour past the firing: the queue's timer may
	// have been set a step late, never more.
	stop := time.Date(2026, 1, 6, 4, 0, 0, 0, time.UTC)
	f.waitUntil("the second firing", func() bool {
		_, err := f.pg.PostgresV1alpha1().PostgresBackups(ns).Get(f.ctx, "demo-20260106030000", metav1.GetOptions{})
		if err != nil && f.clock.Now().Before(stop) {
			f.clock.Step(time.Hour)
		}
		return err == nil
	})
}
