package backup

import (
	"context"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Event reasons, on the PostgresBackup and on its PostgresCluster.
const (
	ReasonStarted   = "BackupStarted"
	ReasonCompleted = "BackupCompleted"
	ReasonFailed    = "BackupFailed"
	ReasonExpired   = "BackupExpired"
	ReasonScheduled = "BackupScheduled"
)

// writeStatus stores st as b's status when it differs from what b holds.
// b is the lister's copy; a stale one fails with a conflict and is retried.
func (c *Controller) writeStatus(ctx context.Context, b *v1alpha1.PostgresBackup, st v1alpha1.PostgresBackupStatus) (bool, error) {
	if equality.Semantic.DeepEqual(b.Status, st) {
		return false, nil
	}
	next := b.DeepCopy()
	next.Status = st
	if _, err := c.client.PostgresV1alpha1().PostgresBackups(b.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		return false, fmt.Errorf("update status of PostgresBackup %s: %w", b.Name, err)
	}
	return true, nil
}

// event records one Event on the backup and, when known, its cluster.
func (c *Controller) event(b *v1alpha1.PostgresBackup, pgc *v1alpha1.PostgresCluster, eventType, reason, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.recorder.Event(b, eventType, reason, msg)
	if pgc != nil {
		c.recorder.Eventf(pgc, eventType, reason, "PostgresBackup %s: %s", b.Name, msg)
	}
}

// setRunning records that the backup's Job exists.
func (c *Controller) setRunning(ctx context.Context, b *v1alpha1.PostgresBackup, pgc *v1alpha1.PostgresCluster, job *batchv1.Job) error {
	st := *b.Status.DeepCopy()
	st.Phase, st.Message = v1alpha1.BackupRunning, ""
	st.Job = job.Name
	st.Primary = job.Annotations[primaryAnnotation]
	start := job.CreationTimestamp
	if start.IsZero() {
		start = metav1.NewTime(c.clock.Now())
	}
	st.StartTime = &start
	written, err := c.writeStatus(ctx, b, st)
	if written {
		c.event(b, pgc, corev1.EventTypeNormal, ReasonStarted, "backup started from %s (Job %s)", st.Primary, st.Job)
	}
	return err
}

// fail records a failed backup.
func (c *Controller) fail(ctx context.Context, b *v1alpha1.PostgresBackup, pgc *v1alpha1.PostgresCluster, reason string) error {
	st := *b.Status.DeepCopy()
	st.Phase, st.Message = v1alpha1.BackupFailed, oneLine(reason)
	written, err := c.writeStatus(ctx, b, st)
	if written {
		c.event(b, pgc, corev1.EventTypeWarning, ReasonFailed, "backup failed: %s", st.Message)
	}
	return err
}
