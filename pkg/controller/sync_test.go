package controller

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// These tests seed the informer indexers and call syncHandler directly.

func TestSyncStartsRunnerOnceAndUpdatesIt(t *testing.T) {
	f := newFixture(t, Options{}, []string{"ns-a"})
	ctx := f.syncCtx()
	pgc := newCluster("ns-a", "db")
	key := keyOf(pgc)
	f.seedCluster("ns-a", pgc)

	require.NoError(t, f.ctrl.syncHandler(ctx, key))
	r := f.runners.waitRunner(t, key, 1)
	waitClosed(t, "runner started", r.started)
	require.Equal(t, 1, r.numUpdates())
	assert.Equal(t, key, r.key)
	assert.Equal(t, pgc, r.initial)

	changed := pgc.DeepCopy()
	changed.ResourceVersion, changed.Spec.Size = "2", 3
	f.seedCluster("ns-a", changed)
	require.NoError(t, f.ctrl.syncHandler(ctx, key))
	assert.Equal(t, 1, f.runners.count(key), "no second runner")
	require.Equal(t, 2, r.numUpdates())
	got := r.update(1)
	assert.Equal(t, int32(3), got.Spec.Size)

	cached, err := f.ctrl.getCluster(key)
	require.NoError(t, err)
	assert.NotSame(t, cached, got, "runners get copies, never the lister's object")
	assert.NotSame(t, cached, r.initial)
}

func TestSyncNotFoundStopsRunner(t *testing.T) {
	f := newFixture(t, Options{}, []string{"ns-a"})
	ctx := f.syncCtx()
	pgc := newCluster("ns-a", "db")
	key := keyOf(pgc)
	f.seedCluster("ns-a", pgc)
	require.NoError(t, f.ctrl.syncHandler(ctx, key))
	r := f.runners.waitRunner(t, key, 1)

	f.unseedCluster("ns-a", pgc)
	require.NoError(t, f.ctrl.syncHandler(ctx, key))
	// syncHandler waited for Run to return, and the entry goes before done closes.
	waitClosed(t, "runner stopped", r.stopped)
	assert.ErrorIs(t, r.ctxErr, context.Canceled)
	assert.Nil(t, f.ctrl.runners.get(key))

	require.NoError(t, f.ctrl.syncHandler(ctx, key), "a second NotFound is a no-op")
}

func TestSyncDeletionTimestampStopsRunner(t *testing.T) {
	f := newFixture(t, Options{}, []string{"ns-a"})
	ctx := f.syncCtx()
	pgc := newCluster("ns-a", "db")
	key := keyOf(pgc)
	f.seedCluster("ns-a", pgc)
	require.NoError(t, f.ctrl.syncHandler(ctx, key))
	r := f.runners.waitRunner(t, key, 1)

	deleting := pgc.DeepCopy()
	deleting.ResourceVersion = "2"
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	f.seedCluster("ns-a", deleting)
	require.NoError(t, f.ctrl.syncHandler(ctx, key))
	waitClosed(t, "runner stopped", r.stopped)
	assert.Nil(t, f.ctrl.runners.get(key))

	require.NoError(t, f.ctrl.syncHandler(ctx, key))
	assert.Equal(t, 1, f.runners.count(key), "a deleting cluster gets no new runner")
}

func TestSyncUnwatchedNamespaceIsNotFound(t *testing.T) {
	f := newFixture(t, Options{}, []string{"ns-a"})
	ctx := f.syncCtx()
	key := cache.NewObjectName("ns-x", "db")
	require.NoError(t, f.ctrl.syncHandler(ctx, key))
	assert.Zero(t, f.runners.count(key))
}

func TestSyncReturnsSentinelWhileRunnerFails(t *testing.T) {
	f := newFixture(t, Options{}, []string{"ns-a"})
	ctx := f.syncCtx()
	pgc := newCluster("ns-a", "db")
	key := keyOf(pgc)
	f.seedCluster("ns-a", pgc)
	require.NoError(t, f.ctrl.syncHandler(ctx, key))
	r := f.runners.waitRunner(t, key, 1)

	boom := errors.New("boom")
	r.report(boom)
	err := f.ctrl.syncHandler(ctx, key)
	require.ErrorIs(t, err, errRunnerFailing)
	require.ErrorIs(t, err, boom)
	assert.Equal(t, 2, r.numUpdates(), "a failing sync still hands the runner a pass")

	r.report(nil)
	require.NoError(t, f.ctrl.syncHandler(ctx, key))
}

func TestSyncStuckRunnerBlocksSuccessor(t *testing.T) {
	f := newFixture(t, Options{StopTimeout: 10 * time.Millisecond}, []string{"ns-a"})
	ctx := f.syncCtx()
	f.runners.setStuck(true)
	pgc := newCluster("ns-a", "db")
	key := keyOf(pgc)
	f.seedCluster("ns-a", pgc)
	require.NoError(t, f.ctrl.syncHandler(ctx, key))
	r := f.runners.waitRunner(t, key, 1)

	f.unseedCluster("ns-a", pgc)
	require.ErrorIs(t, f.ctrl.syncHandler(ctx, key), errRunnerStopping, "bounded wait, retry later")

	f.seedCluster("ns-a", newCluster("ns-a", "db")) // re-created under the same name
	require.ErrorIs(t, f.ctrl.syncHandler(ctx, key), errRunnerStopping)
	assert.Equal(t, 1, f.runners.count(key), "no second runner while the first still runs")

	close(r.release)
	waitUntil(t, "stuck runner removed", func() bool { return f.ctrl.runners.get(key) == nil })
	f.runners.setStuck(false)
	require.NoError(t, f.ctrl.syncHandler(ctx, key))
	assert.Equal(t, 2, f.runners.count(key), "successor starts once the predecessor returned")
}
