package cluster

import (
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// buildPDB returns the cluster's PodDisruptionBudget: voluntary evictions
// (`kubectl drain`, the cluster autoscaler, node upgrades) take at most one
// member at a time, and none while a member is already down. The operator's
// own restarts delete pods and are not bound by it.
//
// maxUnavailable is counted against spec.size, which the disruption
// controller reads through the PostgresCluster's scale subresource, so the
// budget needs no update when the cluster is resized.
//
// A cluster of one member gets the same budget, which lets its only pod be
// evicted: a single-instance cluster has declared that it accepts a
// restart, and a budget of zero would make every drain of its node, every
// node upgrade and autoscaler scale-down hang until someone steps in. The
// member comes back on its volume once it can be scheduled again.
//
// Unready members may always be evicted (AlwaysAllow): their data lives on
// their volumes, not in the pod, and a member that never started must not
// block a drain forever.
func buildPDB(pgc *v1alpha1.PostgresCluster) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{
			Name:            PDBName(pgc.Name),
			Namespace:       pgc.Namespace,
			Labels:          clusterLabels(pgc.Name),
			OwnerReferences: []metav1.OwnerReference{ownerRef(pgc)},
		},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable:             ptr.To(intstr.FromInt32(1)),
			Selector:                   memberSelector(pgc.Name),
			UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
		},
	}
}

// pdbAsBuilt reports whether a stored budget has the fields buildPDB sets.
// Only those are compared, so a field the API server defaults in a later
// release can never make the operator rewrite the budget on every pass.
func pdbAsBuilt(have, want *policyv1.PodDisruptionBudget) bool {
	h, w := have.Spec, want.Spec
	return h.MinAvailable == nil &&
		equality.Semantic.DeepEqual(h.MaxUnavailable, w.MaxUnavailable) &&
		equality.Semantic.DeepEqual(h.Selector, w.Selector) &&
		equality.Semantic.DeepEqual(h.UnhealthyPodEvictionPolicy, w.UnhealthyPodEvictionPolicy)
}
