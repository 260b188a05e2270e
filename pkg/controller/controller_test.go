package controller

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// These tests run the whole controller: informers over fake clientsets, the
// queue, workers and the registry, with fake runners. Objects change through
// the clientsets' trackers, which record no actions. The Controller holds no
// clientset, so the fixture's cleanup check that it made no API call only
// guards against one being added; the no-writes claim that can fail, with
// real runners, is in nowrites_test.go.

func hasVersion(rv string) func(*v1alpha1.PostgresCluster) bool {
	return func(p *v1alpha1.PostgresCluster) bool { return p.ResourceVersion == rv }
}

func TestAddStartsRunnerAndUpdateReusesIt(t *testing.T) {
	pgc := newCluster("ns-a", "db")
	f := newFixture(t, Options{}, []string{""}, pgc)
	f.run()

	r := f.runners.waitRunner(t, keyOf(pgc), 1)
	waitClosed(t, "runner started", r.started)
	r.waitUpdate(t, "initial Update", hasVersion("1"))

	changed := pgc.DeepCopy()
	changed.ResourceVersion, changed.Spec.Size = "2", 3
	f.updateCluster(changed)
	got := r.waitUpdate(t, "Update with the new spec", hasVersion("2"))
	assert.Equal(t, int32(3), got.Spec.Size)
	assert.Equal(t, 1, f.runners.count(keyOf(pgc)), "the same runner, no second one")
}

func TestDeleteStopsRunner(t *testing.T) {
	pgc := newCluster("ns-a", "db")
	f := newFixture(t, Options{}, []string{""}, pgc)
	f.run()
	r := f.runners.waitRunner(t, keyOf(pgc), 1)
	r.waitUpdate(t, "initial Update", hasVersion("1"))

	f.deleteCluster(pgc)
	waitClosed(t, "runner Run returned", r.stopped)
	assert.ErrorIs(t, r.ctxErr, context.Canceled)
	waitUntil(t, "runner removed from registry", func() bool { return f.ctrl.runners.get(keyOf(pgc)) == nil })
}

func TestDeletionTimestampStopsRunner(t *testing.T) {
	pgc := newCluster("ns-a", "db")
	f := newFixture(t, Options{}, []string{""}, pgc)
	f.run()
	r := f.runners.waitRunner(t, keyOf(pgc), 1)
	r.waitUpdate(t, "initial Update", hasVersion("1"))

	deleting := pgc.DeepCopy()
	deleting.ResourceVersion = "2"
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	f.updateCluster(deleting)
	waitClosed(t, "runner Run returned", r.stopped)
	waitUntil(t, "runner removed from registry", func() bool { return f.ctrl.runners.get(keyOf(pgc)) == nil })
	assert.Equal(t, 1, f.runners.count(keyOf(pgc)))
}

// TestChildEventsWakeTheirClusterOnly uses per-namespace informers and two
// clusters with the same name in two namespaces.
func TestChildEventsWakeTheirClusterOnly(t *testing.T) {
	a, b := newCluster("ns-a", "db"), newCluster("ns-b", "db")
	barrier := newCluster("ns-b", "barrier")
	podA := ownedPod(a, "db-1")
	f := newFixture(t, Options{Workers: 1}, []string{"ns-a", "ns-b"}, a, b, barrier, podA)
	f.run()
	ra := f.runners.waitRunner(t, keyOf(a), 1)
	rb := f.runners.waitRunner(t, keyOf(b), 1)
	rBarrier := f.runners.waitRunner(t, keyOf(barrier), 1)
	for _, r := range []*fakeRunner{ra, rb, rBarrier} {
		r.waitUpdate(t, "initial Update", hasVersion("1"))
	}

	// Handlers had synced before workers started, so every initial event is
	// queued by now; flush them so counts below move only for new events.
	f.flush(rBarrier)
	beforeA, beforeB := ra.numUpdates(), rb.numUpdates()
	changed := podA.DeepCopy()
	changed.ResourceVersion = "2"
	changed.Status.Phase = corev1.PodRunning
	f.updatePod(changed)
	waitUntil(t, "owned pod update reaches its cluster", func() bool { return ra.numUpdates() > beforeA })

	// Anything else the pod event queued has been processed after a flush.
	f.flush(rBarrier)
	assert.Equal(t, beforeB, rb.numUpdates(), "the same-named cluster in another namespace stays asleep")

	// A child with only the cluster label maps too.
	beforeB = rb.numUpdates()
	f.createPod(labeledPod("ns-b", "db-7", "db"))
	waitUntil(t, "label-only pod reaches its cluster", func() bool { return rb.numUpdates() > beforeB })

	// And a child's deletion wakes its cluster at once.
	beforeA = ra.numUpdates()
	f.deletePod(changed)
	waitUntil(t, "pod delete reaches its cluster", func() bool { return ra.numUpdates() > beforeA })
	assert.Equal(t, 1, f.runners.count(keyOf(a)))
	assert.Equal(t, 1, f.runners.count(keyOf(b)))
}

func TestRunnerErrorWarnsAndBacksOffUntilRecovery(t *testing.T) {
	pgc := newCluster("ns-a", "db")
	key := keyOf(pgc)
	f := newFixture(t, Options{BaseDelay: 5 * time.Millisecond, MaxDelay: 200 * time.Millisecond}, []string{""}, pgc)
	f.run()
	r := f.runners.waitRunner(t, key, 1)
	r.waitUpdate(t, "initial Update", hasVersion("1"))

	r.report(errors.New("boom"))
	expectEvent(t, f, "Warning ReconcileError boom")
	waitUntil(t, "rate-limited requeue", func() bool { return f.ctrl.queue.NumRequeues(key) > 0 })
	n := f.ctrl.queue.NumRequeues(key)
	waitUntil(t, "backoff keeps growing while failing", func() bool { return f.ctrl.queue.NumRequeues(key) > n })
	before := r.numUpdates()
	waitUntil(t, "each retry hands the runner a pass", func() bool { return r.numUpdates() > before })

	r.report(errors.New("boom again"))
	expectEvent(t, f, "Warning ReconcileError boom again")

	r.report(nil)
	waitUntil(t, "recovery forgets the key", func() bool { return f.ctrl.queue.NumRequeues(key) == 0 })
	assert.NoError(t, f.ctrl.runners.get(key).failing())
	assert.Equal(t, 1, f.runners.count(key), "failures never rebuild the runner")
}

func expectEvent(t *testing.T, f *fixture, want string) {
	t.Helper()
	select {
	case got := <-f.recorder.Events:
		assert.Equal(t, want, got)
	case <-time.After(waitTimeout):
		t.Fatalf("no event %q", want)
	}
}

func TestReportForGoneClusterMakesNoEvent(t *testing.T) {
	pgc := newCluster("ns-a", "db")
	f := newFixture(t, Options{}, []string{""}, pgc)
	r := f.runners
	ctx := f.syncCtx()
	// Not running informers: seed the indexer, start the runner, then remove
	// the cluster from the cache and report through the consumer path.
	f.seedCluster("", pgc)
	require.NoError(t, f.ctrl.syncHandler(ctx, keyOf(pgc)))
	runner := r.waitRunner(t, keyOf(pgc), 1)
	f.unseedCluster("", pgc)
	runner.report(errors.New("late"))
	f.ctrl.handleReport(ctx, <-f.ctrl.reports)
	assert.Empty(t, f.recorder.Events, "no Event for a cluster the lister no longer has")
	assert.Equal(t, 1, f.ctrl.queue.NumRequeues(keyOf(pgc)), "still requeued, so the sync stops the runner")
}

func TestStaleRunnerReportIsIgnored(t *testing.T) {
	pgc := newCluster("ns-a", "db")
	f := newFixture(t, Options{}, []string{""}, pgc)
	ctx := f.syncCtx()
	f.seedCluster("", pgc)
	require.NoError(t, f.ctrl.syncHandler(ctx, keyOf(pgc)))
	old := f.runners.waitRunner(t, keyOf(pgc), 1)
	f.unseedCluster("", pgc)
	require.NoError(t, f.ctrl.syncHandler(ctx, keyOf(pgc)))

	old.report(errors.New("from beyond"))
	f.ctrl.handleReport(ctx, <-f.ctrl.reports)
	assert.Empty(t, f.recorder.Events)
	assert.Zero(t, f.ctrl.queue.NumRequeues(keyOf(pgc)))
}

func TestReportNeverBlocks(t *testing.T) {
	pgc := newCluster("ns-a", "db")
	f := newFixture(t, Options{}, []string{""}, pgc)
	ctx := f.syncCtx()
	f.seedCluster("", pgc)
	require.NoError(t, f.ctrl.syncHandler(ctx, keyOf(pgc)))
	r := f.runners.waitRunner(t, keyOf(pgc), 1)

	// Nobody consumes reports here: the buffer fills, then reports drop.
	for range reportBufferSize + 10 {
		r.report(errors.New("boom"))
	}
	assert.Len(t, f.ctrl.reports, reportBufferSize)
	require.ErrorIs(t, f.ctrl.syncHandler(ctx, keyOf(pgc)), errRunnerFailing, "failing state survives drops")
	r.report(nil) // dropped too, yet the state is healthy again
	require.NoError(t, f.ctrl.syncHandler(ctx, keyOf(pgc)))
}

func TestRunShutdownStopsAllRunners(t *testing.T) {
	a, b := newCluster("ns-a", "db"), newCluster("ns-b", "db")
	f := newFixture(t, Options{}, []string{""}, a, b)
	stop := f.run()
	ra := f.runners.waitRunner(t, keyOf(a), 1)
	rb := f.runners.waitRunner(t, keyOf(b), 1)
	waitClosed(t, "runner a started", ra.started)
	waitClosed(t, "runner b started", rb.started)

	require.NoError(t, stop())
	// Run returned only after every runner's Run returned.
	for _, r := range []*fakeRunner{ra, rb} {
		select {
		case <-r.stopped:
		default:
			t.Errorf("runner %s still running after Run returned", r.key)
		}
	}
	assert.Zero(t, f.ctrl.runners.len())
	assert.True(t, f.ctrl.queue.ShuttingDown())
}

func TestRunShutdownReportsStuckRunner(t *testing.T) {
	pgc := newCluster("ns-a", "db")
	f := newFixture(t, Options{StopTimeout: 20 * time.Millisecond}, []string{""}, pgc)
	f.runners.setStuck(true)
	stop := f.run()
	r := f.runners.waitRunner(t, keyOf(pgc), 1)
	waitClosed(t, "runner started", r.started)

	require.Error(t, stop(), "Run says a runner did not stop in time")
	close(r.release)
	waitClosed(t, "runner stopped", r.stopped)
}
