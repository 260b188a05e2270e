package cluster

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// buildPVC returns a member's data volume claim. Unless the spec retains
// volumes, the claim is owned by the cluster so deleting the cluster
// deletes it.
func buildPVC(pgc *v1alpha1.PostgresCluster, member string) *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{
			Name:      PVCName(member),
			Namespace: pgc.Namespace,
			Labels:    memberLabels(pgc.Name, member),
		},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: pgc.Spec.Storage.StorageClassName,
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: pgc.Spec.Storage.Size},
			},
		},
	}
	if !pgc.Spec.Storage.RetainOnDelete {
		pvc.OwnerReferences = []metav1.OwnerReference{ownerRef(pgc)}
	}
	return pvc
}
