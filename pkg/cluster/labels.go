package cluster

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Labels the operator puts on every object it owns.
const (
	// ClusterLabel names the PostgresCluster an object belongs to. The
	// operator's informers only watch objects carrying it.
	ClusterLabel = "postgres-operator.dev/cluster"
	// MemberLabel names the member (pod) an object belongs to.
	MemberLabel = "postgres-operator.dev/member"
	// RoleLabel is primary or replica; the Services select on it, and a
	// member reads it at start to decide whether it may run as a primary.
	RoleLabel = "postgres-operator.dev/role"

	RolePrimary = "primary"
	RoleReplica = "replica"

	managedByLabel = "app.kubernetes.io/managed-by"
	managedBy      = "postgres-operator"
)

// Annotations on member pods.
const (
	// BootstrapAnnotation says how an empty data volume is filled: initdb
	// (the seed) or clone (pg_basebackup from the primary).
	BootstrapAnnotation = "postgres-operator.dev/bootstrap"
	// SpecHashAnnotation is a hash of the pod fields whose change rolls a member.
	SpecHashAnnotation = "postgres-operator.dev/spec-hash"

	BootstrapInitdb = "initdb"
	BootstrapClone  = "clone"
)

// clusterLabels are the labels shared by all of a cluster's objects.
func clusterLabels(cluster string) map[string]string {
	return map[string]string{ClusterLabel: cluster, managedByLabel: managedBy}
}

// memberLabels are the labels of a member's pod and volume.
func memberLabels(cluster, member string) map[string]string {
	l := clusterLabels(cluster)
	l[MemberLabel] = member
	return l
}

// Selector selects all member pods of a cluster (status.selector, for the
// scale subresource).
func Selector(cluster string) string {
	return labels.SelectorFromSet(labels.Set{ClusterLabel: cluster, managedByLabel: managedBy}).String()
}

// memberSelector selects the cluster's member pods and nothing else the
// operator may run for it (a backup Job's pod carries the cluster label but
// no member): the disruption budget and the spread of members count them.
func memberSelector(cluster string) *metav1.LabelSelector {
	return &metav1.LabelSelector{
		MatchLabels:      map[string]string{ClusterLabel: cluster},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: MemberLabel, Operator: metav1.LabelSelectorOpExists}},
	}
}
