package cluster

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Growing volumes: spec.storage.size may grow (the CRD refuses a shrink).
// The operator raises the request of every member's claim, one claim per
// pass; the storage provider resizes the volume, online where it can.
// New members get the new size from buildPVC.

// planVolumes asks for the spec's size on the first claim that is smaller.
// After the API refused a growth to this size (a StorageClass without
// allowVolumeExpansion) it does not try again until the size changes.
func planVolumes(in planInput) (action, bool) {
	if in.growthRefused != "" {
		return action{}, false
	}
	want := in.cluster.Spec.Storage.Size
	for _, m := range in.obs.members.live() {
		if !m.hasVolume() {
			continue
		}
		if q := m.pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(want) < 0 {
			return action{kind: actGrowVolume, member: m.name, reason: fmt.Sprintf(
				"growing the volume of %s from %s to %s", m.name, q.String(), want.String())}, true
		}
	}
	return action{}, false
}

// growVolume patches the claim's storage request. A refusal by the API is
// not retried: it is remembered for this size and reported once, with the
// API's own words, as a Warning Event and in the Progressing condition.
func (c *Cluster) growVolume(ctx context.Context, pgc *v1alpha1.PostgresCluster, act action) error {
	size := pgc.Spec.Storage.Size
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"resources": map[string]any{
		"requests": map[string]any{string(corev1.ResourceStorage): size.String()}}}})
	if err != nil {
		return err
	}
	_, err = c.cfg.Kube.CoreV1().PersistentVolumeClaims(pgc.Namespace).Patch(ctx, PVCName(act.member),
		types.MergePatchType, patch, metav1.PatchOptions{})
	refused := (apierrors.IsForbidden(err) || apierrors.IsInvalid(err)) && !namespaceTerminating(err)
	if refused {
		c.growthRefused = growthRefusal{size: size.String(), why: fmt.Sprintf(
			"volumes cannot grow to %s: %v", size.String(), err)}
		c.cfg.Recorder.Event(pgc, corev1.EventTypeWarning, "VolumeGrowthRefused", c.growthRefused.why)
		return nil
	}
	if err != nil {
		return fmt.Errorf("growing volume claim %s: %w", PVCName(act.member), err)
	}
	return nil
}

// growthRefusal is the size the API last refused to grow a claim to.
type growthRefusal struct{ size, why string }

// refusalFor returns why growing to the spec's size was refused, if it was.
func (r growthRefusal) refusalFor(pgc *v1alpha1.PostgresCluster) string {
	if r.size != "" && r.size == pgc.Spec.Storage.Size.String() {
		return r.why
	}
	return ""
}
