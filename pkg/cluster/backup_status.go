package cluster

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/backup"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// backupObs is what a pass knows of the cluster's backups: the primary's
// archiver and the PostgresBackups of this cluster.
type backupObs struct {
	archiver *postgres.ArchiverStatus // nil when not read this pass
	backups  []*v1alpha1.PostgresBackup
}

// Reasons of the backup conditions.
const (
	reasonArchiving        = "Archiving"
	reasonArchivingFailing = "ArchivingFailing"
	reasonWALDropped       = "WALDropped"
	reasonNoWALArchivedYet = "NoWALArchivedYet"
	reasonInvalidSchedule  = "InvalidSchedule"
	reasonLastBackupFailed = "LastBackupFailed"
	reasonBackupsOK        = "BackupsHealthy"
)

// ScheduledLabel marks the PostgresBackups the schedule created.
const ScheduledLabel = backup.ScheduledLabel

// observeBackups reads the archiver of a healthy primary and lists the
// cluster's backups, when backups are on.
func (c *Cluster) observeBackups(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) {
	if pgc.Spec.Backup == nil {
		return
	}
	if l := c.cfg.Listers.Backups; l != nil {
		all, err := l.PostgresBackups(pgc.Namespace).List(labels.Everything())
		if err == nil {
			for _, b := range all {
				// A backup older than the cluster belongs to an earlier
				// cluster of the same name: it is not this one's history.
				if b.Spec.Cluster == pgc.Name && !b.CreationTimestamp.Before(&pgc.CreationTimestamp) {
					obs.backup.backups = append(obs.backup.backups, b)
				}
			}
		}
	}
	p := obs.members.primary()
	if p == nil || p.db == nil || p.db.InRecovery {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	a, err := c.cfg.Postgres.Archiver(ctx, endpoint(p, ""), archiveStatusDir)
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Cannot read the archiver", "member", p.name, "err", err)
		return
	}
	obs.backup.archiver = &a
}

// setBackupStatus fills status.backup and the ContinuousArchiving and
// BackupsHealthy conditions. Archiving fields keep their stored values
// while the primary cannot be read.
func setBackupStatus(st *v1alpha1.PostgresClusterStatus, pgc *v1alpha1.PostgresCluster, obs *observation) {
	if pgc.Spec.Backup == nil {
		st.Backup = nil
		removeCondition(&st.Conditions, v1alpha1.ConditionContinuousArchiving)
		removeCondition(&st.Conditions, v1alpha1.ConditionBackupsHealthy)
		return
	}
	if st.Backup == nil {
		st.Backup = &v1alpha1.BackupStatus{}
	}
	setBackupsSeen(st.Backup, obs.backup.backups)
	if a := obs.backup.archiver; a != nil {
		setArchiver(st.Backup, *a)
		cond(st, pgc, v1alpha1.ConditionContinuousArchiving)(archivingCondition(*a, st.Backup.LastSuccessfulBackup))
	}
	cond(st, pgc, v1alpha1.ConditionBackupsHealthy)(backupsCondition(pgc, obs.backup.backups))
}

func cond(st *v1alpha1.PostgresClusterStatus, pgc *v1alpha1.PostgresCluster, t string) func(metav1.ConditionStatus, string, string) {
	return func(s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason,
			Message: msg, ObservedGeneration: pgc.Generation})
	}
}

func setArchiver(b *v1alpha1.BackupStatus, a postgres.ArchiverStatus) {
	b.LastArchivedWAL, b.LastArchivedTime = a.LastArchivedWAL, timeOrNil(a.LastArchivedTime)
	b.LastFailedWAL, b.LastFailedTime = a.LastFailedWAL, timeOrNil(a.LastFailedTime)
	b.LastFailure = a.LastError
	b.WALPending, b.WALDropped = a.Pending, a.Dropped
}

func timeOrNil(t time.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	mt := metav1.NewTime(t.UTC().Truncate(time.Second))
	return &mt
}

// archivingCondition: failing when the newest attempt failed, degraded
// when WAL was dropped at the backlog bound since the last backup (a newer
// backup is a new start for point-in-time recovery), unknown before the
// first WAL.
func archivingCondition(a postgres.ArchiverStatus, lastBackup *metav1.Time) (metav1.ConditionStatus, string, string) {
	switch {
	case a.Failing():
		why := a.LastError
		if why == "" {
			why = "see the primary's log"
		}
		return metav1.ConditionFalse, reasonArchivingFailing, fmt.Sprintf(
			"archiving %s failed at %s (%d failures, %d WAL files waiting): %s",
			a.LastFailedWAL, a.LastFailedTime.UTC().Format("15:04:05Z"), a.FailedCount, a.Pending, why)
	case a.Dropped > 0 && (lastBackup == nil || a.DroppedAt.After(lastBackup.Time)):
		return metav1.ConditionFalse, reasonWALDropped, fmt.Sprintf(
			"%d WAL files were dropped when the archive backlog hit its bound (the store was unreachable), last at %s: "+
				"point-in-time recovery cannot cross them; take a backup (a PostgresBackup) to start afresh",
			a.Dropped, a.DroppedAt.UTC().Format(time.RFC3339))
	case a.ArchivedCount == 0 && a.LastArchivedWAL == "":
		return metav1.ConditionUnknown, reasonNoWALArchivedYet, "no WAL file has been archived yet"
	}
	return metav1.ConditionTrue, reasonArchiving, fmt.Sprintf("last archived %s", a.LastArchivedWAL)
}

// setBackupsSeen derives the recoverable range from the PostgresBackups:
// the oldest and newest completed ones not expired by retention.
func setBackupsSeen(b *v1alpha1.BackupStatus, backups []*v1alpha1.PostgresBackup) {
	b.FirstRecoverabilityPoint, b.LastSuccessfulBackup, b.LastSuccessfulBackupName = nil, nil, ""
	for _, pb := range backups {
		s := pb.Status
		if s.Phase != v1alpha1.BackupCompleted || s.StopTime == nil {
			continue
		}
		if b.FirstRecoverabilityPoint == nil || s.StopTime.Before(b.FirstRecoverabilityPoint) {
			b.FirstRecoverabilityPoint = s.StopTime.DeepCopy()
		}
		if b.LastSuccessfulBackup == nil || b.LastSuccessfulBackup.Before(s.StopTime) {
			b.LastSuccessfulBackup, b.LastSuccessfulBackupName = s.StopTime.DeepCopy(), pb.Name
		}
	}
	for _, pb := range backups {
		if pb.Labels[ScheduledLabel] != "true" {
			continue
		}
		t := pb.CreationTimestamp
		if at, err := time.Parse(time.RFC3339, pb.Annotations[backup.ScheduledAtAnnotation]); err == nil {
			t = metav1.NewTime(at) // the firing, which the creation may follow by a downtime
		}
		if b.LastScheduledBackup == nil || b.LastScheduledBackup.Before(&t) {
			b.LastScheduledBackup = t.DeepCopy()
		}
	}
}

// backupsCondition: a schedule that does not parse, or a newest backup
// that failed, makes backups unhealthy.
func backupsCondition(pgc *v1alpha1.PostgresCluster, backups []*v1alpha1.PostgresBackup) (metav1.ConditionStatus, string, string) {
	if s := pgc.Spec.Backup.Schedule; s != "" {
		if _, err := backup.ParseSchedule(s); err != nil {
			return metav1.ConditionFalse, reasonInvalidSchedule, fmt.Sprintf(
				"spec.backup.schedule %q is not a cron schedule (five fields, or @daily, @hourly...): %v; no backup is scheduled", s, err)
		}
	}
	finished := slices.DeleteFunc(slices.Clone(backups), func(b *v1alpha1.PostgresBackup) bool {
		return b.Status.Phase != v1alpha1.BackupCompleted && b.Status.Phase != v1alpha1.BackupFailed
	})
	if len(finished) == 0 {
		return metav1.ConditionTrue, reasonBackupsOK, "no backup has finished yet"
	}
	newest := slices.MaxFunc(finished, func(a, b *v1alpha1.PostgresBackup) int {
		return a.CreationTimestamp.Compare(b.CreationTimestamp.Time)
	})
	if newest.Status.Phase == v1alpha1.BackupFailed {
		return metav1.ConditionFalse, reasonLastBackupFailed, fmt.Sprintf("backup %s failed: %s", newest.Name, newest.Status.Message)
	}
	return metav1.ConditionTrue, reasonBackupsOK, fmt.Sprintf("backup %s completed", newest.Name)
}

// announceArchiving sends a Warning Event when archiving turns unhealthy
// and a Normal one when it recovers: a stalled archive must never be silent.
func (c *Cluster) announceArchiving(pgc *v1alpha1.PostgresCluster, before, after []metav1.Condition) {
	now := meta.FindStatusCondition(after, v1alpha1.ConditionContinuousArchiving)
	if now == nil {
		return
	}
	was := meta.FindStatusCondition(before, v1alpha1.ConditionContinuousArchiving)
	switch {
	case now.Status == metav1.ConditionFalse && (was == nil || was.Status != metav1.ConditionFalse || was.Reason != now.Reason):
		c.cfg.Recorder.Event(pgc, corev1.EventTypeWarning, now.Reason, now.Message)
	case now.Status == metav1.ConditionTrue && was != nil && was.Status == metav1.ConditionFalse:
		c.cfg.Recorder.Event(pgc, corev1.EventTypeNormal, "ArchivingResumed", now.Message)
	}
}
