package cluster

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// setVolumeOwner makes one claim's owner references match
// storage.retainOnDelete (plan_retain.go). The strategic merge patch
// changes only the references concerned, merged by UID, and carries the
// claim's UID, so it never lands on a claim re-created under the same name.
func (c *Cluster) setVolumeOwner(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, act action) error {
	m := obs.members.byName(act.member)
	if m == nil || !m.hasVolume() {
		return nil // gone since the plan: nothing left to keep or release
	}
	change := volumeOwnerChange(pgc, m.pvc)
	refs := make([]map[string]any, 0, len(change.drop)+1)
	for _, ref := range change.drop {
		refs = append(refs, map[string]any{"$patch": "delete", "uid": ref.UID})
	}
	if change.add {
		refs = append(refs, map[string]any{
			"apiVersion": v1alpha1.SchemeGroupVersion.String(), "kind": "PostgresCluster",
			"name": pgc.Name, "uid": pgc.UID, "controller": true, "blockOwnerDeletion": true,
		})
	}
	if len(refs) == 0 {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": m.pvc.UID, "ownerReferences": refs}})
	if err != nil {
		return err
	}
	_, err = c.cfg.Kube.CoreV1().PersistentVolumeClaims(pgc.Namespace).Patch(ctx, m.pvc.Name,
		types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("setting the owner of volume claim %s: %w", m.pvc.Name, err)
	}
	return nil
}
