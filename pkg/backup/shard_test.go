package backup

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

const shardLabel = "postgres-operator.dev/shard"

// shardFixture is newFixture for an operator whose shard is sel: its
// cluster cache holds only the clusters sel takes, as the informer's
// label selector makes it in cmd/postgres-operator.
func shardFixture(t *testing.T, sel string, objs ...runtime.Object) *fixture {
	t.Helper()
	f := newFixture(t, objs...)
	s, err := labels.Parse(sel)
	require.NoError(t, err)
	f.c.selector = s
	f.caches[0] = f.refresher(f.inf.Clusters.Informer(), func() (runtime.Object, error) { // caches[0]: the clusters'
		return f.pg.PostgresV1alpha1().PostgresClusters(ns).List(f.ctx, metav1.ListOptions{LabelSelector: sel})
	})
	f.refresh()
	return f
}

func inShardB(pgc *v1alpha1.PostgresCluster) *v1alpha1.PostgresCluster {
	pgc.Labels = map[string]string{shardLabel: "b"}
	return pgc
}

// clusterGets counts the PostgresClusters read from the API, not the cache.
func (f *fixture) clusterGets() int {
	n := 0
	for _, a := range f.pg.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "postgresclusters" {
			n++
		}
	}
	return n
}

// Shard b takes the backups of its clusters, from its cache alone, and
// leaves the others' as they are: no status, no Job, no Event.
func TestShardTakesOnlyItsClustersBackups(t *testing.T) {
	f := shardFixture(t, shardLabel+"=b",
		cluster("main"), inShardB(cluster("bee")), backupOf("m1", "main"), backupOf("b1", "bee"),
		memberPod("main", "main-1", true, true), memberPod("bee", "bee-1", true, true))

	before := f.writes()
	assert.Zero(t, f.syncBackup("m1"))
	assert.Equal(t, before, f.writes(), "another shard's backup: no write")
	assert.Empty(t, f.backup("m1").Status.Phase)
	assert.Empty(t, f.jobs())
	assert.Empty(t, f.recorder.take())
	assert.Equal(t, 1, f.clusterGets(), "one read of a cluster the cache lacks")

	f.syncBackup("b1")
	assert.Equal(t, v1alpha1.BackupRunning, f.backup("b1").Status.Phase)
	require.Len(t, f.jobs(), 1)
	assert.Equal(t, 1, f.clusterGets(), "its own cluster comes from the cache")
}

// A backup of a cluster that exists nowhere is failed by the one shard
// that takes unlabelled clusters, and by no other.
func TestOnlyTheDefaultShardReportsAMissingCluster(t *testing.T) {
	b := shardFixture(t, shardLabel+"=b", backupOf("lost", "missing"))
	b.syncBackup("lost")
	assert.Empty(t, b.backup("lost").Status.Phase, "shard b leaves it alone")
	assert.Empty(t, b.recorder.take())

	main := shardFixture(t, "!"+shardLabel, backupOf("lost", "missing"))
	main.syncBackup("lost")
	assert.Equal(t, v1alpha1.BackupFailed, main.backup("lost").Status.Phase)
	assert.Equal(t, "PostgresCluster missing not found in namespace db", main.backup("lost").Status.Message)
}

// A cluster relabelled into another shard in the middle of a backup: the
// shard it left neither completes nor fails that backup, its Job done or
// deleted; the shard it joined does.
func TestAMovedClustersBackupIsLeftToItsNewShard(t *testing.T) {
	f := shardFixture(t, "!"+shardLabel, cluster("demo"), backupOf("b1", "demo"), memberPod("demo", "demo-1", true, true))
	f.syncBackup("b1")
	require.Equal(t, v1alpha1.BackupRunning, f.backup("b1").Status.Phase)

	moved, err := f.pg.PostgresV1alpha1().PostgresClusters(ns).Get(f.ctx, "demo", metav1.GetOptions{})
	require.NoError(t, err)
	_, err = f.pg.PostgresV1alpha1().PostgresClusters(ns).Update(f.ctx, inShardB(moved), metav1.UpdateOptions{})
	require.NoError(t, err)
	f.finishJob("b1", true, sampleLog(t, incrLabel), "")
	f.recorder.take()
	before := f.writes()
	f.syncBackup("b1")
	assert.Equal(t, before, f.writes(), "the Job is done, but the backup is shard b's now")
	assert.Equal(t, v1alpha1.BackupRunning, f.backup("b1").Status.Phase)

	require.NoError(t, f.kube.BatchV1().Jobs(ns).Delete(f.ctx, "b1", metav1.DeleteOptions{}))
	f.syncBackup("b1")
	assert.Equal(t, v1alpha1.BackupRunning, f.backup("b1").Status.Phase, "not failed for a deleted Job either")
	assert.Empty(t, f.recorder.take())
}
