package cluster

import (
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Two PodDisruptionBudgets bound voluntary evictions (`kubectl drain`, the
// cluster autoscaler, node upgrades); the operator's own restarts delete
// pods and are bound by neither.
//
//   - <cluster>-primary covers the primary and, in a cluster of two or
//     more, lets no eviction take it. `kubectl drain` cordons the node and
//     evicts at once, milliseconds before the operator could see the
//     cordon, so a budget that merely allowed one member at a time let the
//     drain take the primary and cost a failover. Blocked, the drain
//     retries while the operator switches over to a replica on another
//     node (plan_drain.go); the old primary is then a replica, covered by
//     the other budget, and goes. When no replica can take over, the
//     drain waits and the cluster says why (PrimaryNodeCordoned).
//     A cluster of one member lets its primary go: it has declared that it
//     accepts a restart, and a budget of zero would make every drain of its
//     node hang until someone steps in.
//   - <cluster> covers the replicas: one at a time, and none while a member
//     is already down (minAvailable: all replicas but one).
//
// The budgets count with minAvailable, which needs no scale subresource:
// maxUnavailable would be counted against spec.size, the whole cluster,
// while each budget selects only part of it. A pod with no role (fenced)
// is in neither. Unready members may always be evicted (AlwaysAllow): their
// data lives on their volumes, and a member that never started must not
// block a drain forever.

// buildPDBs returns both budgets, the replicas' first.
func buildPDBs(pgc *v1alpha1.PostgresCluster) []*policyv1.PodDisruptionBudget {
	size := pgc.Spec.Size
	primaryMin := int32(0)
	if size >= 2 {
		primaryMin = 1
	}
	return []*policyv1.PodDisruptionBudget{
		budget(pgc, PDBName(pgc.Name), RoleReplica, max(size-2, 0)),
		budget(pgc, PrimaryPDBName(pgc.Name), RolePrimary, primaryMin),
	}
}

// budget is a PodDisruptionBudget over the members of one role.
func budget(pgc *v1alpha1.PostgresCluster, name, role string, minAvailable int32) *policyv1.PodDisruptionBudget {
	selector := memberSelector(pgc.Name)
	selector.MatchLabels[RoleLabel] = role
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       pgc.Namespace,
			Labels:          clusterLabels(pgc.Name),
			OwnerReferences: []metav1.OwnerReference{ownerRef(pgc)},
		},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable:               ptr.To(intstr.FromInt32(minAvailable)),
			Selector:                   selector,
			UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
		},
	}
}

// pdbAsBuilt reports whether a stored budget has the fields buildPDBs sets.
// Only those are compared, so a field the API server defaults in a later
// release can never make the operator rewrite the budget on every pass.
func pdbAsBuilt(have, want *policyv1.PodDisruptionBudget) bool {
	h, w := have.Spec, want.Spec
	return equality.Semantic.DeepEqual(h.MaxUnavailable, w.MaxUnavailable) &&
		equality.Semantic.DeepEqual(h.MinAvailable, w.MinAvailable) &&
		equality.Semantic.DeepEqual(h.Selector, w.Selector) &&
		equality.Semantic.DeepEqual(h.UnhealthyPodEvictionPolicy, w.UnhealthyPodEvictionPolicy)
}
