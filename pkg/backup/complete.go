package backup

import (
	"context"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// complete records a backup whose Job succeeded, from the engine's report
// in the Job's log, and marks the backups the engine's retention removed.
func (c *Controller) complete(ctx context.Context, l listers, b *v1alpha1.PostgresBackup, job *batchv1.Job) error {
	r, problem, err := c.readReport(ctx, l, job)
	if err != nil {
		return err
	}
	st := *b.Status.DeepCopy()
	st.Job = job.Name
	if st.Primary == "" {
		st.Primary = job.Annotations[primaryAnnotation]
	}
	if r == nil {
		// The backup is in the store all the same; only its details are lost.
		klog.FromContext(ctx).Info("Backup report unreadable", "job", klog.KObj(job), "problem", problem)
		st.Phase = v1alpha1.BackupCompleted
		st.Message = oneLine("the backup succeeded but its report could not be read: " + problem)
		st.StopTime = job.Status.CompletionTime
	} else {
		st = completedStatus(st, r)
		// Before this backup's own status: a failure here retries the whole.
		if err := c.markExpired(ctx, l, b, r); err != nil {
			return err
		}
	}
	written, err := c.writeStatus(ctx, b, st)
	if written {
		c.completedEvents(b, c.clusterIfAny(l, b), st)
	}
	return err
}

func (c *Controller) completedEvents(b *v1alpha1.PostgresBackup, pgc *v1alpha1.PostgresCluster, st v1alpha1.PostgresBackupStatus) {
	if st.Label == "" {
		c.event(b, pgc, corev1.EventTypeWarning, ReasonCompleted, "backup completed: %s", st.Message)
		return
	}
	c.event(b, pgc, corev1.EventTypeNormal, ReasonCompleted, "backup %s completed: %s, %s stored", st.Label, st.Size, humanBytes(st.RepositoryBytes))
	if st.Message != "" {
		c.event(b, pgc, corev1.EventTypeWarning, ReasonCompleted, "backup %s: %s", st.Label, st.Message)
	}
}

// readReport reads the engine's report from the Job's pod. A report that
// is gone or unreadable is a problem (returned as text), not an error: the
// Job's log will not get better. Errors are worth a retry.
func (c *Controller) readReport(ctx context.Context, l listers, job *batchv1.Job) (*report, string, error) {
	pod, err := c.jobPod(ctx, l, job)
	if err != nil {
		return nil, "", err
	}
	if pod == nil {
		return nil, "the Job's pod is gone", nil
	}
	log, err := c.readLog(ctx, pod.Namespace, pod.Name, containerName)
	if apierrors.IsNotFound(err) {
		return nil, "the Job's pod is gone", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read the log of pod %s: %w", pod.Name, err)
	}
	r, err := parseReport(log)
	if err != nil {
		return nil, err.Error(), nil
	}
	return r, "", nil
}

// failureMessage is why a Job failed: the script's termination message
// (the engine's error), else what the Job controller says.
func (c *Controller) failureMessage(ctx context.Context, l listers, job *batchv1.Job) string {
	if pod, err := c.jobPod(ctx, l, job); err == nil && pod != nil {
		if msg := terminationMessage(pod); msg != "" {
			return msg
		}
	}
	cond := jobCondition(job, batchv1.JobFailed)
	switch {
	case cond == nil:
		return "the backup Job failed"
	case cond.Reason == batchv1.JobReasonDeadlineExceeded:
		return fmt.Sprintf("the backup Job ran longer than its deadline (%s)", time.Duration(jobDeadline)*time.Second)
	case cond.Message != "":
		return "the backup Job failed: " + cond.Message
	}
	return "the backup Job failed: " + cond.Reason
}

// terminationMessage is what the script wrote before failing or, for a pod
// that never ran it (the kubelet refused it: no room on the primary's
// node), why the pod failed.
func terminationMessage(pod *corev1.Pod) string {
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name == containerName && s.State.Terminated != nil && strings.TrimSpace(s.State.Terminated.Message) != "" {
			return strings.TrimSpace(s.State.Terminated.Message)
		}
	}
	if pod.Status.Message != "" {
		return fmt.Sprintf("the backup's pod failed on node %s: %s: %s", pod.Spec.NodeName, pod.Status.Reason, pod.Status.Message)
	}
	return ""
}

// markExpired marks the completed backups of the cluster the store no
// longer holds (the engine's retention removed them), and deletes their
// Jobs: their logs describe a backup that is gone. Reports may be read out
// of order (two Jobs ended while the operator was down), so a report only
// judges backups that ended before its own began.
func (c *Controller) markExpired(ctx context.Context, l listers, b *v1alpha1.PostgresBackup, r *report) error {
	all, err := l.backups.PostgresBackups(b.Namespace).List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list PostgresBackups: %w", err)
	}
	for _, old := range all {
		if old.UID == b.UID || old.Spec.Cluster != b.Spec.Cluster || !r.expired(old.Status) {
			continue
		}
		st := *old.Status.DeepCopy()
		st.Phase = v1alpha1.BackupExpired
		st.Message = fmt.Sprintf("expired by retention: the store no longer holds %s (seen after backup %s)", old.Status.Label, r.Label)
		written, err := c.writeStatus(ctx, old, st)
		if err != nil {
			return err
		}
		if written {
			c.recorder.Event(old, corev1.EventTypeNormal, ReasonExpired, st.Message)
		}
		if job, err := l.jobs.Jobs(old.Namespace).Get(jobName(old.Name)); err == nil && metav1.IsControlledBy(job, old) {
			if err := c.deleteJob(ctx, job.Namespace, job.Name); err != nil {
				return err
			}
		}
	}
	return nil
}
