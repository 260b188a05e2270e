package backup

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Handlers only read caches and enqueue: they run on the informers'
// delivery goroutines.

func (c *Controller) addHandlers(inf Informers) error {
	logger := c.logger.WithValues("namespace", inf.Namespace)
	l := c.listersFor(inf.Namespace)
	handlers := []struct {
		informer cache.SharedIndexInformer
		handler  cache.ResourceEventHandler
	}{
		{inf.Backups.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueueBackup,
			UpdateFunc: func(old, cur any) { c.onUpdate(old, cur, c.enqueueBackup) },
			DeleteFunc: c.enqueueBackup,
		}},
		{inf.Jobs.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    c.onJob,
			UpdateFunc: func(old, cur any) { c.onUpdate(old, cur, c.onJob) },
			DeleteFunc: c.onJob,
		}},
		{inf.Pods.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { c.onPod(l, obj) },
			UpdateFunc: func(old, cur any) { c.onUpdate(old, cur, func(obj any) { c.onPod(l, obj) }) },
		}},
		{inf.Clusters.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { c.onCluster(l, obj) },
			UpdateFunc: func(old, cur any) { c.onUpdate(old, cur, func(obj any) { c.onCluster(l, obj) }) },
		}},
	}
	for _, h := range handlers {
		reg, err := h.informer.AddEventHandlerWithOptions(h.handler, cache.HandlerOptions{Logger: &logger})
		if err != nil {
			return fmt.Errorf("add event handler: %w", err)
		}
		c.synced = append(c.synced, reg.HasSynced)
	}
	return nil
}

// onUpdate skips resyncs, which change nothing: same resourceVersion (the
// fake clientsets set none, and every update is then handled).
func (c *Controller) onUpdate(old, cur any, handle func(any)) {
	o, err1 := meta.Accessor(old)
	n, err2 := meta.Accessor(cur)
	if err1 == nil && err2 == nil && o.GetResourceVersion() != "" && o.GetResourceVersion() == n.GetResourceVersion() {
		return
	}
	handle(cur)
}

func (c *Controller) enqueueBackup(obj any) {
	if key, err := cache.DeletionHandlingObjectToName(obj); err == nil {
		c.backups.Add(key)
	}
}

// onJob wakes the Job's backup and, once the Job is over, the backups of
// its cluster that wait for it (one backup Job per cluster at a time).
func (c *Controller) onJob(obj any) {
	deleted := false
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = tombstone.Obj, true
	}
	job, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOf(job); ref != nil && ref.Kind == "PostgresBackup" && isOurGroup(ref.APIVersion) {
		c.backups.Add(cache.NewObjectName(job.Namespace, ref.Name))
	}
	if deleted || job.DeletionTimestamp != nil || jobDone(job) {
		c.enqueueWaiting(c.listersFor(job.Namespace), job.Namespace, job.Labels[ClusterLabel])
	}
}

// onPod wakes a backup when its Job's pod changes (its container exits
// a second or two before the Job says so), and the backups waiting for
// their cluster's primary when a primary's pod changes (it got ready, say),
// instead of at their recheck.
func (c *Controller) onPod(l listers, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil && ref.Kind == "Job" && pod.Labels[BackupLabel] != "" {
		if job, err := l.jobs.Jobs(pod.Namespace).Get(ref.Name); err == nil {
			if owner := metav1.GetControllerOf(job); owner != nil && owner.Kind == "PostgresBackup" {
				c.backups.Add(cache.NewObjectName(job.Namespace, owner.Name))
			}
		}
		return
	}
	if pod.Labels[roleLabel] != rolePrimary || pod.Labels[memberLabel] == "" {
		return
	}
	c.enqueueWaiting(l, pod.Namespace, pod.Labels[ClusterLabel])
}

// onCluster wakes the cluster's schedule and its waiting backups: a change
// of the cluster (a ready primary, an unpause) may be what they wait for.
func (c *Controller) onCluster(l listers, obj any) {
	pgc, ok := obj.(*v1alpha1.PostgresCluster)
	if !ok {
		return
	}
	if pgc.Spec.Backup != nil && pgc.Spec.Backup.Schedule != "" {
		c.schedules.Add(cache.MetaObjectToName(pgc))
	}
	c.enqueueWaiting(l, pgc.Namespace, pgc.Name)
}

// enqueueWaiting adds the backups of a cluster that have not started.
func (c *Controller) enqueueWaiting(l listers, namespace, cluster string) {
	if cluster == "" {
		return
	}
	all, err := l.backups.PostgresBackups(namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, b := range all {
		if b.Spec.Cluster == cluster && (b.Status.Phase == "" || b.Status.Phase == v1alpha1.BackupPending) {
			c.backups.Add(cache.MetaObjectToName(b))
		}
	}
}

// isOurGroup accepts any version of the API group.
func isOurGroup(apiVersion string) bool {
	gv, err := schema.ParseGroupVersion(apiVersion)
	return err == nil && gv.Group == v1alpha1.SchemeGroupVersion.Group
}
