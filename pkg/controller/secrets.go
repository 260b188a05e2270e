package controller

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"
)

// Secrets wake their cluster as other children do, with one difference:
// a password Secret a user brings for a declared role (spec.roles[].
// passwordSecret) is labelled by the operator so that the cache holds it,
// and may be controlled by another controller (External Secrets, Sealed
// Secrets). Its label still names the cluster whose role takes the
// password, so a rotation there reaches the role at once rather than at
// the next timer pass.
func (c *Controller) secretHandlers() cache.ResourceEventHandler {
	enqueue := func(obj any) {
		if key, ok := c.secretOwnerOf(obj); ok {
			c.queue.Add(key)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue,
		UpdateFunc: func(oldObj, newObj any) {
			if sameResourceVersion(oldObj, newObj) {
				return
			}
			enqueue(oldObj) // the queue folds it with the new owner when the same
			enqueue(newObj)
		},
		DeleteFunc: enqueue,
	}
}

func (c *Controller) secretOwnerOf(obj any) (cache.ObjectName, bool) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		utilruntime.HandleErrorWithLogger(c.logger, err, "Cannot read secret metadata", "object", fmt.Sprintf("%T", obj))
		return cache.ObjectName{}, false
	}
	return secretOwnerKey(m)
}

// secretOwnerKey is ownerKey, falling back to the cluster label when
// another controller controls the Secret.
func secretOwnerKey(m metav1.Object) (cache.ObjectName, bool) {
	if key, ok := ownerKey(m); ok {
		return key, true
	}
	if name := m.GetLabels()[ClusterLabel]; name != "" {
		return cache.NewObjectName(m.GetNamespace(), name), true
	}
	return cache.ObjectName{}, false
}
