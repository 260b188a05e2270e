package cluster

import (
	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// topologySpread is the user's spec.pod.topologySpreadConstraints when set
// (an empty list turns spreading off), else the default: prefer a node
// that runs fewer of the cluster's members. Members on distinct nodes are
// what lets a node's loss or drain cost at most one of them, and what
// gives a cordoned primary a replica to switch over to (plan_drain.go).
//
// The default is a preference (ScheduleAnyway), not a rule: a cluster with
// more members than nodes, a single-node cluster or nodes kept busy still
// schedule every member. A topology spread constraint rather than a
// preferred pod anti-affinity because the scheduler scores it far more
// cheaply on large clusters. It adds to spec.pod.affinity, which mostly
// says where members may run (node affinity) rather than how to spread.
// It is left out of the spec hash (hash.go).
func topologySpread(pgc *v1alpha1.PostgresCluster) []corev1.TopologySpreadConstraint {
	if tsc := pgc.Spec.Pod.TopologySpreadConstraints; tsc != nil {
		return tsc
	}
	return []corev1.TopologySpreadConstraint{{
		MaxSkew:           1,
		TopologyKey:       corev1.LabelHostname,
		WhenUnsatisfiable: corev1.ScheduleAnyway,
		LabelSelector:     memberSelector(pgc.Name),
	}}
}
