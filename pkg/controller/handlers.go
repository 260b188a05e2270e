package controller

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// clusterKind is the Kind named by children's controller ownerReferences.
const clusterKind = "PostgresCluster"

// Handlers below only compute a key and enqueue it: they run on the informers'
// delivery goroutines, so they never block and never call the API.

// addHandlers registers the cluster and child handlers for one namespace and
// returns the checkers that complete once each handler has seen its initial list.
func (c *Controller) addHandlers(inf NamespaceInformers) ([]cache.DoneChecker, error) {
	clusters := cache.ResourceEventHandlerFuncs{
		AddFunc:    c.onClusterAdd,
		UpdateFunc: c.onClusterUpdate,
		DeleteFunc: c.onClusterDelete,
	}
	children := cache.ResourceEventHandlerFuncs{
		AddFunc:    c.onChildAdd,
		UpdateFunc: c.onChildUpdate,
		DeleteFunc: c.onChildDelete,
	}
	informers := []struct {
		informer cache.SharedIndexInformer
		handler  cache.ResourceEventHandler
	}{
		{inf.Clusters.Informer(), clusters},
		{inf.Pods.Informer(), children},
		{inf.PVCs.Informer(), children},
		{inf.Services.Informer(), children},
		{inf.Secrets.Informer(), c.secretHandlers()}, // secrets.go
		{inf.ConfigMaps.Informer(), children},
		{inf.PDBs.Informer(), children},
	}
	logger := c.logger.WithValues("namespace", inf.Namespace)
	synced := make([]cache.DoneChecker, 0, len(informers))
	for _, i := range informers {
		reg, err := i.informer.AddEventHandlerWithOptions(i.handler, cache.HandlerOptions{Logger: &logger})
		if err != nil {
			return nil, fmt.Errorf("add event handler: %w", err)
		}
		synced = append(synced, reg.HasSyncedChecker())
	}
	return synced, nil
}

func (c *Controller) onClusterAdd(obj any) { c.enqueueCluster(obj) }

// onClusterUpdate skips periodic resyncs: an unchanged ResourceVersion means
// nothing happened, and the runner's own timer already covers drift.
func (c *Controller) onClusterUpdate(oldObj, newObj any) {
	if sameResourceVersion(oldObj, newObj) {
		return
	}
	c.enqueueCluster(newObj)
}

func (c *Controller) onClusterDelete(obj any) { c.enqueueCluster(obj) }

func (c *Controller) enqueueCluster(obj any) {
	key, err := cache.DeletionHandlingObjectToName(obj)
	if err != nil {
		utilruntime.HandleErrorWithLogger(c.logger, err, "Cannot compute PostgresCluster key", "object", fmt.Sprintf("%T", obj))
		return
	}
	c.queue.Add(key)
}

func (c *Controller) onChildAdd(obj any) { c.enqueueOwner(obj) }

// onChildUpdate skips resyncs and also wakes the old owner when ownership or
// the cluster label changed, so that cluster notices it lost the object.
func (c *Controller) onChildUpdate(oldObj, newObj any) {
	if sameResourceVersion(oldObj, newObj) {
		return
	}
	newKey, newOK := c.ownerOf(newObj)
	if oldKey, ok := c.ownerOf(oldObj); ok && (!newOK || oldKey != newKey) {
		c.queue.Add(oldKey)
	}
	if newOK {
		c.queue.Add(newKey)
	}
}

func (c *Controller) onChildDelete(obj any) { c.enqueueOwner(obj) }

func (c *Controller) enqueueOwner(obj any) {
	if key, ok := c.ownerOf(obj); ok {
		c.queue.Add(key)
	}
}

// ownerOf maps a child (or its tombstone) to its PostgresCluster's key.
func (c *Controller) ownerOf(obj any) (cache.ObjectName, bool) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		utilruntime.HandleErrorWithLogger(c.logger, err, "Cannot read child object metadata", "object", fmt.Sprintf("%T", obj))
		return cache.ObjectName{}, false
	}
	return ownerKey(m)
}

// ownerKey returns the owning cluster of a child: the controller
// ownerReference if there is one, else the ClusterLabel in the child's own
// namespace. A child controlled by something else is not ours to wake for.
// The reference's UID is not checked: waking a same-named successor is
// harmless, and the syncHandler reads the truth from the lister.
func ownerKey(m metav1.Object) (cache.ObjectName, bool) {
	if ref := metav1.GetControllerOf(m); ref != nil {
		if ref.Kind != clusterKind || refGroup(ref) != v1alpha1.SchemeGroupVersion.Group || ref.Name == "" {
			return cache.ObjectName{}, false
		}
		return cache.NewObjectName(m.GetNamespace(), ref.Name), true
	}
	if name := m.GetLabels()[ClusterLabel]; name != "" {
		return cache.NewObjectName(m.GetNamespace(), name), true
	}
	return cache.ObjectName{}, false
}

// refGroup accepts any version of our group, so children survive an API
// version bump.
func refGroup(ref *metav1.OwnerReference) string {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return ""
	}
	return gv.Group
}

// sameResourceVersion reports an update that changed nothing (a resync).
func sameResourceVersion(oldObj, newObj any) bool {
	oldMeta, err1 := meta.Accessor(oldObj)
	newMeta, err2 := meta.Accessor(newObj)
	return err1 == nil && err2 == nil && oldMeta.GetResourceVersion() == newMeta.GetResourceVersion()
}
