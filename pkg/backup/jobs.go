package backup

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// startedJob remembers a Job this controller created until its informer
// shows it: a lister that lags must not let a second Job start.
type startedJob struct {
	name string
	at   time.Time
}

// startedMemory bounds how long a created Job the informer never showed
// (deleted at once) keeps blocking its cluster.
const startedMemory = time.Minute

// jobDone reports a Job that finished, either way.
func jobDone(job *batchv1.Job) bool {
	return jobCondition(job, batchv1.JobComplete) != nil || jobCondition(job, batchv1.JobFailed) != nil
}

// jobCondition returns the Job's condition of type t when it is true.
func jobCondition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i, c := range job.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return &job.Status.Conditions[i]
		}
	}
	return nil
}

// ownJob returns the backup's Job, nil when there is none. live reads the
// API when the lister has none (a Running backup's Job the cache may not
// show yet). A Job of that name that another object controls is an error.
func (c *Controller) ownJob(ctx context.Context, l listers, b *v1alpha1.PostgresBackup, live bool) (*batchv1.Job, error) {
	name := jobName(b.Name)
	job, err := l.jobs.Jobs(b.Namespace).Get(name)
	if apierrors.IsNotFound(err) && live {
		job, err = c.kube.BatchV1().Jobs(b.Namespace).Get(ctx, name, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get Job %s: %w", name, err)
	case !metav1.IsControlledBy(job, b):
		return nil, &waitError{fmt.Sprintf("waiting for Job %s, which is not this backup's (a deleted backup's of the same name?), to go away", name)}
	}
	return job, nil
}

// waitError is a reason to wait that is not the cluster's readiness.
type waitError struct{ msg string }

func (e *waitError) Error() string { return e.msg }

// createJob creates the backup's job unless another backup Job of the
// cluster is still running, in which case it returns that Job's name. The
// check and the creation are one step under c.mu.
func (c *Controller) createJob(ctx context.Context, l listers, b *v1alpha1.PostgresBackup, job *batchv1.Job) (*batchv1.Job, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	busy, err := c.activeJob(l, job.Namespace, b.Spec.Cluster, job.Name)
	if err != nil || busy != "" {
		return nil, busy, err
	}
	created, err := c.kube.BatchV1().Jobs(job.Namespace).Create(ctx, job, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// Ours from an earlier pass that the cache does not show yet, or
		// someone else's.
		existing, err := c.ownJob(ctx, l, b, true)
		return existing, "", err
	}
	if err != nil {
		return nil, "", fmt.Errorf("create Job %s: %w", job.Name, err)
	}
	c.started[job.Namespace+"/"+b.Spec.Cluster] = startedJob{name: job.Name, at: c.clock.Now()}
	return created, "", nil
}

// activeJob names a backup Job of the cluster, other than own, that has not
// finished: from the lister, or just created and not in the lister yet.
// Called with c.mu held.
func (c *Controller) activeJob(l listers, namespace, cluster, own string) (string, error) {
	jobs, err := l.jobs.Jobs(namespace).List(labels.SelectorFromSet(labels.Set{ClusterLabel: cluster}))
	if err != nil {
		return "", fmt.Errorf("list Jobs: %w", err)
	}
	key := namespace + "/" + cluster
	recent, remembered := c.started[key]
	for _, j := range jobs {
		if j.Name == recent.name {
			delete(c.started, key) // the cache has it now
			remembered = false
		}
		if j.Name != own && j.Labels[BackupLabel] != "" && !jobDone(j) && j.DeletionTimestamp == nil {
			return j.Name, nil
		}
	}
	if remembered && recent.name != own && c.clock.Since(recent.at) < startedMemory {
		return recent.name, nil
	}
	return "", nil
}

// jobPod returns the pod of a Job, the one that ran to the end when there
// are several, or nil. It asks the API when the cache has none.
func (c *Controller) jobPod(ctx context.Context, l listers, job *batchv1.Job) (*corev1.Pod, error) {
	sel := labels.SelectorFromSet(labels.Set{BackupLabel: job.Labels[BackupLabel]})
	pods, err := l.pods.Pods(job.Namespace).List(sel)
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	if len(ownedBy(pods, job)) == 0 {
		list, err := c.kube.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return nil, fmt.Errorf("list pods: %w", err)
		}
		pods = nil
		for i := range list.Items {
			pods = append(pods, &list.Items[i])
		}
	}
	var found *corev1.Pod
	for _, p := range ownedBy(pods, job) {
		if found == nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			found = p
		}
	}
	return found, nil
}

func ownedBy(pods []*corev1.Pod, job *batchv1.Job) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if metav1.IsControlledBy(p, job) {
			out = append(out, p)
		}
	}
	return out
}

// deleteJob deletes a Job and its pod (a Job's default is to orphan it).
func (c *Controller) deleteJob(ctx context.Context, namespace, name string) error {
	err := c.kube.BatchV1().Jobs(namespace).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationBackground),
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete Job %s: %w", name, err)
	}
	return nil
}
