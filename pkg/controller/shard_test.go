package controller

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

// Shards (cmd/postgres-operator/shard.go): each operator's PostgresCluster
// informer is filtered by its --cluster-selector, so a cluster of another
// shard is simply not in its lister, and a cluster relabelled into another
// shard leaves it the way a deleted one does: the watch reports DELETED.

// A cluster that leaves the shard has its runner stopped and nothing else:
// no child deleted, nothing written, so it runs on untouched until the
// shard it joined takes it over.
func TestClusterLeavingTheShardIsLeftRunning(t *testing.T) {
	pgc := newCluster("ns-a", "db")
	pgc.Spec = v1alpha1.PostgresClusterSpec{Size: 3, PostgresVersion: 15,
		Storage: v1alpha1.StorageSpec{Size: resource.MustParse("1Gi")}}
	f := newFixture(t, Options{}, []string{""}, pgc)
	db := dbfake.New()
	withRealRunners(f, db)
	actLikeAnAPIServer(f.kube)
	actLikeAnAPIServer(f.pg)
	node := &kubelet{t: t, f: f, db: db}
	f.run()
	waitUntil(t, "a converged cluster", func() bool {
		node.step()
		return isConverged(storedCluster(t, f))
	})
	// The steady state, with no write in flight that the informer could
	// still deliver after the cluster left it.
	f.kube.ClearActions()
	f.pg.ClearActions()
	probes := len(db.CallsTo("Probe"))
	waitUntil(t, "ten more passes", func() bool { return len(db.CallsTo("Probe")) >= probes+30 })
	require.Empty(t, writesIn(append(f.kube.Actions(), f.pg.Actions()...)), "converged: no writes")
	key := keyOf(pgc)
	require.NotNil(t, f.ctrl.runners.get(key))
	pods, err := f.kube.Tracker().List(podsGVR, corev1.SchemeGroupVersion.WithKind("Pod"), "ns-a")
	require.NoError(t, err)

	// What the informer does with the watch's DELETED event for an object
	// that left its label selector (the fake watch does not filter on one).
	left := storedCluster(t, f)
	informer := f.pgFactories[""].Postgres().V1alpha1().PostgresClusters().Informer()
	require.NoError(t, informer.GetIndexer().Delete(left))
	f.ctrl.onClusterDelete(left)

	waitUntil(t, "the runner stopped", func() bool { return f.ctrl.runners.get(key) == nil })
	assert.Empty(t, writesIn(f.kube.Actions()), "nothing deleted or written for a cluster that changed shards")
	assert.Empty(t, writesIn(f.pg.Actions()))
	still, err := f.kube.Tracker().List(podsGVR, corev1.SchemeGroupVersion.WithKind("Pod"), "ns-a")
	require.NoError(t, err)
	assert.Equal(t, pods, still, "every member pod as it was")
	assert.Equal(t, left, storedCluster(t, f), "the cluster as it was")
}

// Events of the children of another shard's cluster reach the queue (the
// kube informers filter on the cluster label, not on the shard) and stop
// there: a lister miss, no runner, no API call (the fixture's cleanup
// checks that).
func TestChildrenOfAnotherShardsClusterStartNothing(t *testing.T) {
	barrier := newCluster("ns-a", "barrier")
	theirs := newCluster("ns-a", "theirs") // in no cache of this operator
	f := newFixture(t, Options{Workers: 1}, []string{""}, barrier, ownedPod(theirs, "theirs-1"))
	f.run()
	rBarrier := f.runners.waitRunner(t, keyOf(barrier), 1)
	rBarrier.waitUpdate(t, "initial Update", hasVersion("1"))

	f.createPod(labeledPod("ns-a", "theirs-2", "theirs"))
	f.deletePod(ownedPod(theirs, "theirs-1"))
	f.flush(rBarrier)
	assert.Zero(t, f.runners.count(keyOf(theirs)))
	assert.Equal(t, 1, f.runners.count(keyOf(barrier)))
}
