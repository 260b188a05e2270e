package cluster

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Labels the operator puts on every object it owns (defined with the API,
// v1alpha1/labels.go).
const (
	ClusterLabel = v1alpha1.ClusterLabel
	MemberLabel  = v1alpha1.MemberLabel
	RoleLabel    = v1alpha1.RoleLabel

	RolePrimary  = v1alpha1.RolePrimary
	RoleReplica  = v1alpha1.RoleReplica
	RoleDiverged = v1alpha1.RoleDiverged

	managedByLabel = v1alpha1.ManagedByLabel
	managedBy      = v1alpha1.ManagedBy
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
