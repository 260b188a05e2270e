package cluster

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
// it is not; find reads the object that is there (nil if none).
func createdOrOurs(ctx context.Context, pgc *v1alpha1.PostgresCluster, kind, name string, createErr error,
	find func(ctx context.Context, opts metav1.ListOptions) (metav1.Object, error)) error {
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
	}
	return errIfForeign(pgc, kind, obj)
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
