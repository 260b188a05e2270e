package backup

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

const (
	// pendingRecheck is how often a waiting backup looks again, besides the
	// cluster and Job events that wake it.
	pendingRecheck = 10 * time.Second
	// pendingLimit is how long a backup waits for its cluster (paused, no
	// ready primary) before it fails. Waiting for another backup of the
	// cluster has no limit of its own: that Job's deadline bounds it.
	pendingLimit = 10 * time.Minute
)

// waitAt is when a backup began to wait for its cluster. It is kept in
// memory: a restarted operator gives a waiting backup a full pendingLimit
// again, which errs on the side of taking the backup.
type waitAt struct {
	uid   string
	since time.Time
}

// syncBackup moves one PostgresBackup along: Pending → Running (its Job) →
// Completed or Failed. It returns when to look again, if no event will.
func (c *Controller) syncBackup(ctx context.Context, key cache.ObjectName) (time.Duration, error) {
	l := c.listersFor(key.Namespace)
	b, err := l.backups.PostgresBackups(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		c.stopWaiting(key)
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("get PostgresBackup: %w", err)
	}
	if terminal(b.Status.Phase) {
		c.stopWaiting(key)
		return 0, nil
	}
	if mine, err := c.inShard(ctx, l, b); err != nil || !mine {
		// Another shard's backup is its operator's to take (shard.go).
		return 0, err
	}
	running := b.Status.Phase == v1alpha1.BackupRunning
	job, err := c.ownJob(ctx, l, b, running)
	var wait *waitError
	switch {
	case errors.As(err, &wait):
		return c.wait(ctx, b, nil, wait.msg, false)
	case err != nil:
		return 0, err
	case job != nil:
		return 0, c.syncJob(ctx, l, b, job)
	case running:
		return 0, c.fail(ctx, b, c.clusterIfAny(l, b), fmt.Sprintf("the backup's Job %s was deleted before it finished", b.Status.Job))
	}
	return c.start(ctx, l, b)
}

// start creates the backup's Job once its cluster can be backed up.
func (c *Controller) start(ctx context.Context, l listers, b *v1alpha1.PostgresBackup) (time.Duration, error) {
	pgc, problem, err := c.clusterOf(ctx, l, b)
	if errors.Is(err, errOtherShard) {
		return 0, nil // relabelled into another shard since inShard looked
	}
	if err != nil {
		return 0, err
	}
	if problem != "" {
		return 0, c.fail(ctx, b, pgc, problem)
	}
	primary, reason := readyPrimary(l, pgc)
	if reason != "" {
		return c.wait(ctx, b, pgc, reason, true)
	}
	job, err := buildJob(jobInput{backup: b, cluster: pgc, primary: primary})
	if err != nil {
		return 0, c.fail(ctx, b, pgc, err.Error())
	}
	created, busy, err := c.createJob(ctx, l, b, job)
	var wait *waitError
	switch {
	case errors.As(err, &wait):
		return c.wait(ctx, b, pgc, wait.msg, false)
	case err != nil:
		return 0, err
	case busy != "":
		return c.wait(ctx, b, pgc, fmt.Sprintf("waiting for Job %s, another backup of PostgresCluster %s, to finish", busy, pgc.Name), false)
	case created == nil:
		return 0, fmt.Errorf("the Job %s vanished while it was created", job.Name)
	}
	klog.FromContext(ctx).V(2).Info("Created backup Job", "job", klog.KObj(created), "primary", primary.Name)
	return 0, c.setRunning(ctx, b, pgc, created)
}

// clusterOf returns the backup's cluster, or why the backup cannot be taken.
// A cluster the cache does not show is read from the API: it may have been
// created with the backup (getCluster, shard.go: errOtherShard when it is
// another shard's).
func (c *Controller) clusterOf(ctx context.Context, l listers, b *v1alpha1.PostgresBackup) (*v1alpha1.PostgresCluster, string, error) {
	pgc, err := c.getCluster(ctx, l, b.Namespace, b.Spec.Cluster)
	switch {
	case errors.Is(err, errOtherShard):
		return nil, "", err
	case apierrors.IsNotFound(err):
		return nil, fmt.Sprintf("PostgresCluster %s not found in namespace %s", b.Spec.Cluster, b.Namespace), nil
	case err != nil:
		return nil, "", fmt.Errorf("get PostgresCluster %s: %w", b.Spec.Cluster, err)
	case pgc.DeletionTimestamp != nil:
		return pgc, fmt.Sprintf("PostgresCluster %s is being deleted", pgc.Name), nil
	case pgc.Spec.Backup == nil:
		return pgc, fmt.Sprintf("PostgresCluster %s has no spec.backup: set spec.backup.objectStore to back it up", pgc.Name), nil
	}
	return pgc, "", nil
}

// clusterIfAny is the backup's cluster from the cache, for Events; nil if
// it is gone.
func (c *Controller) clusterIfAny(l listers, b *v1alpha1.PostgresBackup) *v1alpha1.PostgresCluster {
	pgc, err := l.clusters.PostgresClusters(b.Namespace).Get(b.Spec.Cluster)
	if err != nil {
		return nil
	}
	return pgc
}

// readyPrimary returns the cluster's ready primary pod, or why there is
// none to back up.
func readyPrimary(l listers, pgc *v1alpha1.PostgresCluster) (*corev1.Pod, string) {
	if pgc.Spec.Paused {
		return nil, fmt.Sprintf("waiting: PostgresCluster %s is paused", pgc.Name)
	}
	sel := labels.SelectorFromSet(labels.Set{ClusterLabel: pgc.Name, roleLabel: rolePrimary})
	pods, err := l.pods.Pods(pgc.Namespace).List(sel)
	if err != nil {
		return nil, fmt.Sprintf("waiting: listing pods: %v", err)
	}
	var ready []*corev1.Pod
	for _, p := range pods {
		if p.Labels[memberLabel] != "" && p.DeletionTimestamp == nil && podReady(p) && p.Spec.NodeName != "" {
			ready = append(ready, p)
		}
	}
	switch {
	case len(ready) == 0:
		return nil, fmt.Sprintf("waiting for a ready primary of PostgresCluster %s", pgc.Name)
	case len(ready) > 1:
		return nil, fmt.Sprintf("waiting: %d ready pods of PostgresCluster %s are labelled primary", len(ready), pgc.Name)
	case dataClaim(ready[0]) == "":
		return nil, fmt.Sprintf("waiting: the primary %s has no data volume", ready[0].Name)
	}
	return ready[0], ""
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// wait records why the backup waits and looks again later. limited waits
// (for the cluster) fail the backup after pendingLimit.
func (c *Controller) wait(ctx context.Context, b *v1alpha1.PostgresBackup, pgc *v1alpha1.PostgresCluster, reason string, limited bool) (time.Duration, error) {
	if limited {
		if waited := c.clock.Since(c.startWaiting(b)); waited > pendingLimit {
			return 0, c.fail(ctx, b, pgc, fmt.Sprintf("gave up after %s: %s", pendingLimit, reason))
		}
	}
	st := *b.Status.DeepCopy()
	st.Phase, st.Message = v1alpha1.BackupPending, reason
	if _, err := c.writeStatus(ctx, b, st); err != nil {
		return 0, err
	}
	return pendingRecheck, nil
}

// startWaiting returns when the backup began to wait for its cluster.
func (c *Controller) startWaiting(b *v1alpha1.PostgresBackup) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := cache.MetaObjectToName(b)
	w, ok := c.waiting[key]
	if !ok || w.uid != string(b.UID) {
		w = waitAt{uid: string(b.UID), since: c.clock.Now()}
		c.waiting[key] = w
	}
	return w.since
}

func (c *Controller) stopWaiting(key cache.ObjectName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.waiting, key)
}

// syncJob follows the backup's Job to its end.
func (c *Controller) syncJob(ctx context.Context, l listers, b *v1alpha1.PostgresBackup, job *batchv1.Job) error {
	c.stopWaiting(cache.MetaObjectToName(b))
	exited, code := c.podExit(ctx, l, job)
	switch {
	case jobCondition(job, batchv1.JobComplete) != nil || (exited && code == 0):
		return c.complete(ctx, l, b, job)
	case jobCondition(job, batchv1.JobFailed) != nil || (exited && code != 0):
		return c.fail(ctx, b, c.clusterIfAny(l, b), c.failureMessage(ctx, l, job))
	case b.Status.Phase != v1alpha1.BackupRunning:
		// Created by an earlier pass whose status write was lost.
		return c.setRunning(ctx, b, c.clusterIfAny(l, b), job)
	}
	return nil
}

// podExit reports whether the backup container of the Job's pod has
// exited, and how: that is the end of the backup, which the Job's own
// condition only says a second or two later (backoffLimit is 0, so the
// pod's exit is the Job's).
func (c *Controller) podExit(ctx context.Context, l listers, job *batchv1.Job) (bool, int32) {
	pod, err := c.jobPod(ctx, l, job)
	if err != nil || pod == nil {
		return false, 0
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil {
			return true, t.ExitCode
		}
	}
	return false, 0
}
