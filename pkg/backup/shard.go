package backup

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Shards: operators that split the clusters between them by label
// selectors (Config.ClusterSelector) all see every PostgresBackup, which
// carries no shard label. A backup is taken, followed and failed only by
// the operator whose shard holds its cluster; the others leave it alone,
// whatever its phase.

// errOtherShard: the backup's cluster is another shard's.
var errOtherShard = errors.New("the PostgresCluster is another shard's")

// inShard reports whether the backup is this operator's to handle.
func (c *Controller) inShard(ctx context.Context, l listers, b *v1alpha1.PostgresBackup) (bool, error) {
	if c.selector == nil {
		return true, nil
	}
	_, err := c.getCluster(ctx, l, b.Namespace, b.Spec.Cluster)
	switch {
	case errors.Is(err, errOtherShard):
		return false, nil
	case err != nil && !apierrors.IsNotFound(err):
		return false, err
	}
	return true, nil
}

// getCluster reads a cluster from the cache, or from the API when the
// cache lacks it (it may have been created with its backup). With a
// selector the cache holds only this shard's clusters, so one read from
// the API is checked against it: one the selector does not take is
// another shard's (errOtherShard). So is a missing cluster, unless the
// selector takes a cluster without labels: then exactly one shard, the one
// for "the clusters no shard claims", reports the backup's cluster missing.
func (c *Controller) getCluster(ctx context.Context, l listers, namespace, name string) (*v1alpha1.PostgresCluster, error) {
	pgc, err := l.clusters.PostgresClusters(namespace).Get(name)
	if !apierrors.IsNotFound(err) {
		return pgc, err
	}
	pgc, err = c.client.PostgresV1alpha1().PostgresClusters(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case c.selector == nil:
		return pgc, err
	case apierrors.IsNotFound(err) && !c.selector.Matches(labels.Set{}):
		return nil, errOtherShard
	case err == nil && !c.selector.Matches(labels.Set(pgc.Labels)):
		return nil, errOtherShard
	}
	return pgc, err
}
