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

// A member's pod and volume and the -rw and -ro Services are named after
// the cluster (demo-1, demo-rw), so an object of that name may already be
// there and not be this cluster's: another operator's (CloudNativePG names
// its Services and volumes the same way) or one made by hand. The
// informers watch only objects with the cluster label, so the operator
// learns of it only when a create is refused as AlreadyExists. Taking it
// over would route clients to another database, or start a second server
// on another's data directory. So the action fails with an error naming
// the object (the Progressing condition and a ReconcileError Warning
// Event) and is retried with the work queue's back-off.

// errIfForeign is nil for an object labelled as this cluster's (the
// informer cache is behind the operator's own create), and otherwise says
// whose it looks like and what the user can do.
func errIfForeign(pgc *v1alpha1.PostgresCluster, kind string, obj metav1.Object) error {
	if obj.GetLabels()[ClusterLabel] == pgc.Name {
		return nil
	}
	whose := "it has no owner and not this cluster's label " + ClusterLabel + "=" + pgc.Name
	if ctrl := metav1.GetControllerOf(obj); ctrl != nil {
		whose = fmt.Sprintf("it belongs to %s %s", ctrl.Kind, ctrl.Name)
	}
	return fmt.Errorf("%s %s already exists and is not this cluster's (%s): the operator does not take it over; "+
		"delete or rename it, or give the PostgresCluster another name", kind, obj.GetName(), whose)
}

// createdOrOurs turns the AlreadyExists error of a create into nil when
// the object there is this cluster's, and into errIfForeign's error when
// it is not; find reads the object that is there (nil if none). One the
// cluster controls (its controller reference names the cluster's UID)
// but whose cluster label was removed by hand is out of the cache, not
// another's: relabel puts the label back and it counts as created.
func createdOrOurs(ctx context.Context, pgc *v1alpha1.PostgresCluster, kind, name string, createErr error,
	find func(ctx context.Context, opts metav1.ListOptions) (metav1.Object, error), relabel relabelFunc) error {
	if createErr == nil {
		return nil
	}
	if !apierrors.IsAlreadyExists(createErr) {
		return fmt.Errorf("creating %s %s: %w", kind, name, createErr)
	}
	obj, err := find(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	switch {
	case err != nil:
		return fmt.Errorf("reading %s %s: %w", kind, name, err)
	case obj == nil:
		return fmt.Errorf("creating %s %s: it existed and is gone now; trying again", kind, name)
	case lostItsLabel(pgc, obj):
		if err := relabel(ctx, name, labelPatch(obj.GetUID(), clusterLabels(pgc.Name))); err != nil {
			return fmt.Errorf("putting the label %s=%s back on %s %s: %w", ClusterLabel, pgc.Name, kind, name, err)
		}
		return nil
	}
	return errIfForeign(pgc, kind, obj)
}

// lostItsLabel: the object is controlled by this very cluster object and
// not being deleted, but lacks the cluster label.
func lostItsLabel(pgc *v1alpha1.PostgresCluster, obj metav1.Object) bool {
	ctrl := metav1.GetControllerOf(obj)
	return ctrl != nil && ctrl.UID == pgc.UID && obj.GetDeletionTimestamp() == nil &&
		obj.GetLabels()[ClusterLabel] != pgc.Name
}

// labelPatch is the merge patch that puts labels back on an object; the
// UID makes it apply to the object that was read and to no other.
func labelPatch(uid types.UID, labels map[string]string) []byte {
	data, _ := json.Marshal(map[string]any{"metadata": map[string]any{"uid": string(uid), "labels": labels}})
	return data
}

// relabelFunc applies a merge patch to an object of one kind, by name.
type relabelFunc func(ctx context.Context, name string, patch []byte) error

// relabelWith makes the relabelFunc of a typed client.
func relabelWith[T any](client interface {
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error)
}) relabelFunc {
	return func(ctx context.Context, name string, patch []byte) error {
		_, err := client.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	}
}

// named is the item of a list by name that has the name, nil if none.
// (A list, not a get: the operator's RBAC grants list on its children. The
// name is matched again, as a fake API ignores field selectors.)
func named[T any, P interface {
	*T
	metav1.Object
}](items []T, name string) metav1.Object {
	for i := range items {
		if obj := P(&items[i]); obj.GetName() == name {
			return obj
		}
	}
	return nil
}
