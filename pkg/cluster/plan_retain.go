package cluster

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Volumes follow spec.storage.retainOnDelete at once, not only when they
// are created: the owner reference is what makes the garbage collector
// delete a claim with its cluster, so a claim carries the cluster's
// reference exactly when retainOnDelete is false. Turning retainOnDelete on
// just before deleting the cluster must keep the data.

// actSetVolumeOwner adds or removes the cluster's owner reference on one
// member's claim.
const actSetVolumeOwner actionKind = "SetVolumeOwner"

// planRetain fixes the ownership of one claim per pass. It touches nothing
// but a claim's metadata, so it is safe at any moment, and it runs before
// the rules that wait (failover, bootstrap), which must never hold it back.
func planRetain(in planInput) (action, bool) {
	for _, m := range in.obs.members {
		if !m.hasVolume() {
			continue
		}
		change := volumeOwnerChange(in.cluster, m.pvc)
		switch {
		case change.add:
			return action{kind: actSetVolumeOwner, member: m.name, reason: fmt.Sprintf(
				"storage.retainOnDelete is false: volume %s goes with the cluster when it is deleted", m.pvc.Name)}, true
		case len(change.drop) > 0:
			return action{kind: actSetVolumeOwner, member: m.name, reason: fmt.Sprintf(
				"storage.retainOnDelete is true: volume %s is kept when the cluster is deleted", m.pvc.Name)}, true
		}
	}
	return action{}, false
}

// ownerChange is what a claim's owner references need to match the spec.
type ownerChange struct {
	add  bool                    // add the cluster's controller reference
	drop []metav1.OwnerReference // references to this cluster, or to an earlier one of the same name
}

// volumeOwnerChange compares a claim's owner references with the spec.
// With retainOnDelete every reference to a PostgresCluster of this name
// goes, a stale one (a deleted cluster's UID) too: the garbage collector
// would delete a claim whose only owner is gone. Without it the claim gets
// this cluster's reference, unless something else controls it.
func volumeOwnerChange(pgc *v1alpha1.PostgresCluster, pvc *corev1.PersistentVolumeClaim) ownerChange {
	retain := pgc.Spec.Storage.RetainOnDelete
	var c ownerChange
	owned := false
	for _, ref := range pvc.OwnerReferences {
		switch {
		case !refersToCluster(ref, pgc.Name):
		case retain || ref.UID != pgc.UID:
			c.drop = append(c.drop, ref)
		default:
			owned = true
		}
	}
	if !retain && !owned {
		if ctrl := metav1.GetControllerOfNoCopy(pvc); ctrl != nil && !refersToCluster(*ctrl, pgc.Name) {
			return ownerChange{} // controlled by someone else: not ours to take
		}
		c.add = true
	}
	return c
}

// refersToCluster: ref names a PostgresCluster called name, in any
// version of the API group.
func refersToCluster(ref metav1.OwnerReference, name string) bool {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == v1alpha1.SchemeGroupVersion.Group && ref.Kind == "PostgresCluster" && ref.Name == name
}
