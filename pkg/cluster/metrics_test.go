package cluster

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	testingclock "k8s.io/utils/clock/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// recordingMetrics is a Metrics that remembers every call.
type recordingMetrics struct {
	mu          sync.Mutex
	passes      []string
	actions     []string
	failovers   []time.Duration
	switchovers []time.Duration
	samples     []Sample
	forgotten   []string
}

func (r *recordingMetrics) PassDone(outcome string, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.passes = append(r.passes, outcome)
}

func (r *recordingMetrics) ActionApplied(kind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.actions = append(r.actions, kind)
}

func (r *recordingMetrics) FailoverDone(_, _ string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failovers = append(r.failovers, d)
}

func (r *recordingMetrics) SwitchoverDone(_, _ string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.switchovers = append(r.switchovers, d)
}

func (r *recordingMetrics) ObserveCluster(_, _ string, s Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, s)
}

func (r *recordingMetrics) ForgetCluster(ns, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forgotten = append(r.forgotten, ns+"/"+name)
}

func (r *recordingMetrics) lastSample(t *testing.T) Sample {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.samples)
	return r.samples[len(r.samples)-1]
}

// measured gives the world's actor a recording Metrics and a fake clock at now.
func measured(w *world) (*recordingMetrics, *testingclock.FakeClock) {
	m := &recordingMetrics{}
	clock := testingclock.NewFakeClock(now)
	w.c.cfg.Metrics, w.c.cfg.Clock = m, clock
	return m, clock
}

func TestMetricsFollowAFailover(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), exited),
		testMember(pgc, 2, up(RoleReplica), at(100)), testMember(pgc, 3, up(RoleReplica), at(200)))
	m, clock := measured(w)

	w.pass()
	assert.Equal(t, []string{"Fence"}, m.actions)
	assert.Empty(t, m.failovers, "fenced, not yet promoted")
	w.waitPod("demo-1", func(p *corev1.Pod) bool { return p != nil && p.DeletionTimestamp != nil })

	clock.Step(1500 * time.Millisecond)
	w.pass()
	assert.Equal(t, []string{"Fence", "Promote"}, m.actions)
	assert.Equal(t, []time.Duration{1500 * time.Millisecond}, m.failovers, "from the fence to the new primary routed to")
	assert.Empty(t, m.switchovers)

	// The next failover is timed from its own decision.
	w.waitPod("demo-3", func(p *corev1.Pod) bool { return p != nil && p.Labels[RoleLabel] == RolePrimary })
	w.pass()
	assert.Len(t, m.failovers, 1)
	assert.True(t, w.c.handover.since.IsZero())
}

func TestMetricsFollowASwitchover(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3), switchoverTo("demo-3"))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), primaryAt(500)),
		testMember(pgc, 2, up(RoleReplica), at(500)), testMember(pgc, 3, up(RoleReplica), at(500)))
	m, clock := measured(w)

	w.pass()
	assert.Equal(t, []string{"Switchover"}, m.actions)
	w.waitPod("demo-1", func(p *corev1.Pod) bool { return p != nil && p.DeletionTimestamp != nil })
	clock.Step(4 * time.Second) // the old primary shuts down
	w.pass()
	w.kubeletRemoves("demo-1")
	clock.Step(time.Second)
	w.pass()

	assert.Equal(t, []time.Duration{5 * time.Second}, m.switchovers)
	assert.Empty(t, m.failovers)
	assert.Equal(t, []string{"Switchover", "Promote"}, m.actions)
}

// A promotion whose labelling an operator crash interrupted is counted
// when the new process labels it, without a duration it cannot know.
func TestMetricsCountARelabelledPromotion(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	w := newWorld(t, pgc, testMember(pgc, 1, noPod), testMember(pgc, 2, up(RoleReplica), at(300)),
		testMember(pgc, 3, up(RolePrimary), primaryAt(200), labelledReplica))
	m, _ := measured(w)
	w.pass()
	assert.Equal(t, []time.Duration{0}, m.failovers)
	assert.Equal(t, []string{"LabelPrimary"}, m.actions)
}

func TestMetricsSamplePerPass(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), primaryAt(300)), testMember(pgc, 2, up(RoleReplica), at(100)))
	m, _ := measured(w)
	w.pass()

	s := m.lastSample(t)
	assert.Equal(t, string(v1alpha1.PhaseRunning), s.Phase)
	assert.True(t, s.Ready)
	assert.Nil(t, s.Archive, "backups are off")
	assert.Equal(t, []MemberSample{
		{Name: "demo-1", Up: true, Role: RolePrimary, Timeline: 1},
		{Name: "demo-2", Up: true, Role: RoleReplica, Timeline: 1, LagBytes: 200, LagKnown: true},
	}, s.Members)
	assert.Equal(t, int64(200), w.current().Status.MemberStatuses[1].LagBytes, "the lag status reports")
}

// The archiver as last read stands while the primary cannot be read, and
// goes when backups are turned off.
func TestMetricsSampleKeepsTheLastArchiver(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1), func(p *v1alpha1.PostgresCluster) { p.Spec.Backup = &v1alpha1.BackupSpec{} })
	m := &recordingMetrics{}
	c := &Cluster{cfg: &Config{Metrics: m}}
	obs := obsOf(pgc, testMember(pgc, 1, up(RolePrimary)))
	st := computeStatus(pgc, obs, action{kind: actNone}, nil)

	obs.backup.archiver = &postgres.ArchiverStatus{LastArchivedTime: now, ArchivedCount: 7, FailedCount: 1, Pending: 2, Dropped: 3}
	c.observeMetrics(pgc, obs, &st)
	want := &ArchiveSample{LastArchivedTime: now, ArchivedCount: 7, FailedCount: 1, Pending: 2, Dropped: 3}
	assert.Equal(t, want, m.lastSample(t).Archive)

	obs.backup.archiver = nil
	c.observeMetrics(pgc, obs, &st)
	assert.Equal(t, want, m.lastSample(t).Archive, "not read this pass: the last one read")

	pgc.Spec.Backup = nil
	c.observeMetrics(pgc, obs, &st)
	assert.Nil(t, m.lastSample(t).Archive)
}

func TestMetricsPassOutcomes(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	newFailover := func(t *testing.T) (*world, *recordingMetrics) {
		w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), exited),
			testMember(pgc, 2, up(RoleReplica), at(100)), testMember(pgc, 3, up(RoleReplica), at(200)))
		m, _ := measured(w)
		return w, m
	}

	t.Run("ok", func(t *testing.T) {
		w, m := newFailover(t)
		w.c.pass(w.ctx)
		assert.Equal(t, []string{PassOK}, m.passes)
	})
	t.Run("error", func(t *testing.T) {
		w, m := newFailover(t)
		w.kube.PrependReactor("patch", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, assert.AnError
		})
		w.c.pass(w.ctx)
		assert.Equal(t, []string{PassError}, m.passes)
		assert.Empty(t, m.actions, "nothing applied")
	})
	t.Run("panic", func(t *testing.T) {
		w, m := newFailover(t)
		w.kube.PrependReactor("patch", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
			panic("boom")
		})
		assert.PanicsWithValue(t, "boom", func() { w.c.pass(w.ctx) }, "the registry recovers it, not the pass")
		assert.Equal(t, []string{PassPanic}, m.passes)
	})
	t.Run("stopped mid-pass: not a pass", func(t *testing.T) {
		w, m := newFailover(t)
		ctx, cancel := context.WithCancel(w.ctx)
		w.kube.PrependReactor("patch", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
			cancel()
			return true, nil, context.Canceled
		})
		w.c.pass(ctx)
		assert.Empty(t, m.passes)
	})
}

// A stopped actor's series go; one that panicked keeps them for its
// successor.
func TestMetricsForgetAStoppedCluster(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary)))
	m := &recordingMetrics{}
	w.c.cfg.Metrics = m
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.c.Run(ctx) }()
	require.Eventually(t, func() bool { m.mu.Lock(); defer m.mu.Unlock(); return len(m.samples) > 0 }, 5*time.Second, time.Millisecond)
	assert.Empty(t, m.forgotten)
	cancel()
	<-done
	assert.Equal(t, []string{"ns/demo"}, m.forgotten)

	panicking := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary)))
	pm := &recordingMetrics{}
	panicking.c.cfg.Metrics = pm
	panicking.c.cfg.Listers.ByCluster.pods = panickingIndexer{}
	assert.Panics(t, func() { panicking.c.Run(panicking.ctx) })
	assert.Equal(t, []string{PassPanic}, pm.passes)
	assert.Empty(t, pm.forgotten)
}

// panickingIndexer panics where the actor's own goroutine reads it.
type panickingIndexer struct{ cache.Indexer }

func (panickingIndexer) ByIndex(string, string) ([]any, error) { panic("boom") }
