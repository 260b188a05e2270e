package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// reasonPreviousClusterLeftovers is the Progressing reason of a cluster
// created again under the name of one just deleted, while the garbage
// collector still removes what the deleted one owned.
const reasonPreviousClusterLeftovers = "WaitingForDeletedNamesake"

// leftovers names the children a deleted cluster of the same name still
// controls: the garbage collector is removing them. A cluster created
// again under that name must not take them (a `kubectl delete` then
// `kubectl apply` got the old database back, adopted from pods and a
// volume being deleted under it) and must not build beside them (names
// clash). Volumes kept by retainOnDelete have no owner and are not listed:
// taking those over is what retainOnDelete is for.
func (c *Cluster) leftovers(pgc *v1alpha1.PostgresCluster) ([]string, error) {
	objs, err := c.cfg.Listers.ByCluster.childrenOf(pgc.Namespace, pgc.Name) // index.go
	if err != nil {
		return nil, fmt.Errorf("listing the cluster's objects: %w", err)
	}
	return ownedByNamesake(pgc, objs), nil
}

// ownedByNamesake names the objects whose controller is a PostgresCluster
// of pgc's name with another UID.
func ownedByNamesake(pgc *v1alpha1.PostgresCluster, objs []metav1.Object) []string {
	var names []string
	for _, o := range objs {
		ctrl := metav1.GetControllerOfNoCopy(o)
		if ctrl != nil && refersToCluster(*ctrl, pgc.Name) && ctrl.UID != pgc.UID {
			names = append(names, o.GetName())
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// waitForLeftovers says in the status what the cluster waits for; the
// deletions wake the actor (they are its children's events).
func (c *Cluster) waitForLeftovers(ctx context.Context, pgc *v1alpha1.PostgresCluster, names []string) error {
	msg := fmt.Sprintf("waiting for the garbage collector to delete what the deleted cluster of the same name left: %s",
		shortList(names, 5))
	current := meta.FindStatusCondition(pgc.Status.Conditions, v1alpha1.ConditionProgressing)
	if current != nil && current.Reason == reasonPreviousClusterLeftovers && current.Message == msg {
		return nil
	}
	klog.FromContext(ctx).Info("Waiting for a deleted namesake's children to go", "objects", names)
	return c.writeStatus(ctx, pgc, func(st *v1alpha1.PostgresClusterStatus) {
		st.Phase = v1alpha1.PhaseCreating
		st.ObservedGeneration = pgc.Generation
		cond(st, pgc, v1alpha1.ConditionProgressing)(metav1.ConditionTrue, reasonPreviousClusterLeftovers, msg) // backup_status.go
	})
}

// shortList joins up to n names and counts the rest.
func shortList(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}
