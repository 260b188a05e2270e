package cluster

import (
	"fmt"
	"strconv"
	"strings"
)

// Names of the objects derived from a cluster. The CRD limits cluster names
// to 40 characters so that each of these fits in 63.

// MemberName is the pod name of the member with the given ordinal.
func MemberName(cluster string, ordinal int32) string { return fmt.Sprintf("%s-%d", cluster, ordinal) }

// PVCName is the data volume claim of a member.
func PVCName(member string) string { return member + "-data" }

// RWServiceName selects the primary.
func RWServiceName(cluster string) string { return cluster + "-rw" }

// ROServiceName selects the replicas.
func ROServiceName(cluster string) string { return cluster + "-ro" }

// SuperuserSecretName holds the postgres superuser's password and connection details.
func SuperuserSecretName(cluster string) string { return cluster + "-superuser" }

// PDBName is the PodDisruptionBudget over the replicas: the cluster's own
// name, as `kubectl get pdb` users of other operators expect (pdb.go).
func PDBName(cluster string) string { return cluster }

// PrimaryPDBName is the PodDisruptionBudget over the primary (pdb.go).
func PrimaryPDBName(cluster string) string { return cluster + "-primary" }

// ReplicationSecretName holds the replication user's password.
func ReplicationSecretName(cluster string) string { return cluster + "-replication" }

// ordinalOf parses the ordinal from a member name; ok is false for names
// that are not members of cluster.
func ordinalOf(cluster, member string) (int32, bool) {
	suffix, found := strings.CutPrefix(member, cluster+"-")
	if !found {
		return 0, false
	}
	n, err := strconv.ParseInt(suffix, 10, 32)
	if err != nil || n < 1 {
		return 0, false
	}
	return int32(n), true
}
