package backup

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// ParseSchedule parses spec.backup.schedule with the API's parser (five
// cron fields or a descriptor such as @daily), and reads it in UTC. It also
// refuses time zones (the API says UTC), @every shorter than a minute, and
// schedules that never fire (30 February). The cluster's actor must judge a
// schedule with this same function, or a schedule it calls valid is one
// this controller ignores.
func ParseSchedule(s string) (cron.Schedule, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return nil, fmt.Errorf("backup.schedule %q: schedules are in UTC, without a time zone", s)
	}
	sched, err := v1alpha1.ParseBackupSchedule(s)
	if err != nil {
		return nil, fmt.Errorf("backup.schedule %q: %w", s, err)
	}
	if every, ok := sched.(cron.ConstantDelaySchedule); ok && every.Delay < time.Minute {
		return nil, fmt.Errorf("backup.schedule %q: @every must be at least 1m", s)
	}
	utc := utcSchedule{sched}
	if utc.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("backup.schedule %q never fires", s)
	}
	return utc, nil
}

// utcSchedule reads its fields in UTC whatever the operator's time zone.
type utcSchedule struct{ cron.Schedule }

func (u utcSchedule) Next(t time.Time) time.Time {
	n := u.Schedule.Next(t.UTC())
	if n.IsZero() {
		return n
	}
	return n.UTC()
}

const (
	// maxScan bounds the firings scanned one by one after a long downtime;
	// beyond it the scan skips to catchUpWindow before now.
	maxScan       = 10000
	catchUpWindow = 7 * 24 * time.Hour
)

// dueFiring returns the firing to take at now after the last one: the
// newest firing not after now, once however many were missed. next is the
// first firing after now (zero: never).
func dueFiring(s cron.Schedule, last, now time.Time) (fire time.Time, due bool, next time.Time) {
	first := s.Next(last)
	if first.IsZero() || first.After(now) {
		return time.Time{}, false, first
	}
	fire = first
	for i := 0; ; i++ {
		if i == maxScan {
			if t := s.Next(now.Add(-catchUpWindow)); t.After(fire) && !t.After(now) {
				fire = t
			}
		}
		t := s.Next(fire)
		if t.IsZero() || t.After(now) {
			return fire, true, t
		}
		fire = t
	}
}

// syncSchedule creates the PostgresBackup of a cluster's due firing and
// returns how long until the next one.
func (c *Controller) syncSchedule(ctx context.Context, key cache.ObjectName) (time.Duration, error) {
	l := c.listersFor(key.Namespace)
	pgc, err := l.clusters.PostgresClusters(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("get PostgresCluster: %w", err)
	}
	if pgc.DeletionTimestamp != nil || pgc.Spec.Backup == nil || pgc.Spec.Backup.Schedule == "" {
		return 0, nil
	}
	sched, err := ParseSchedule(pgc.Spec.Backup.Schedule)
	if err != nil {
		// The cluster's actor reports it; a fixed spec wakes this again.
		klog.FromContext(ctx).V(1).Info("Ignoring an invalid backup schedule", "err", err)
		return 0, nil
	}
	now := c.clock.Now()
	fire, due, next := dueFiring(sched, lastFiring(l, pgc), now)
	// A paused cluster takes no backup; unpausing it wakes this again.
	if due && !pgc.Spec.Paused {
		if err := c.createScheduled(ctx, pgc, fire); err != nil {
			return 0, err
		}
	}
	if next.IsZero() {
		return 0, nil
	}
	return next.Sub(now), nil
}

// lastFiring is the firing of the cluster's newest scheduled backup, or the
// cluster's creation when it has none.
func lastFiring(l listers, pgc *v1alpha1.PostgresCluster) time.Time {
	last := pgc.CreationTimestamp.Time
	sel := labels.SelectorFromSet(labels.Set{ClusterLabel: pgc.Name, ScheduledLabel: "true"})
	backups, err := l.backups.PostgresBackups(pgc.Namespace).List(sel)
	if err != nil {
		return last
	}
	for _, b := range backups {
		if !ownedByCluster(b, pgc) {
			continue // a deleted cluster's of the same name, not yet collected
		}
		at := b.CreationTimestamp.Time
		if t, err := time.Parse(time.RFC3339, b.Annotations[ScheduledAtAnnotation]); err == nil {
			at = t
		}
		if at.After(last) {
			last = at
		}
	}
	return last
}

func ownedByCluster(b *v1alpha1.PostgresBackup, pgc *v1alpha1.PostgresCluster) bool {
	for _, ref := range b.OwnerReferences {
		if ref.UID == pgc.UID {
			return true
		}
	}
	return false
}

// createScheduled creates the PostgresBackup of one firing. Its name is the
// firing's, so a second creation (a restart, a stale cache) is a no-op.
func (c *Controller) createScheduled(ctx context.Context, pgc *v1alpha1.PostgresCluster, fire time.Time) error {
	b := scheduledBackup(pgc, fire)
	_, err := c.client.PostgresV1alpha1().PostgresBackups(pgc.Namespace).Create(ctx, b, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create PostgresBackup %s: %w", b.Name, err)
	}
	c.recorder.Eventf(pgc, corev1.EventTypeNormal, ReasonScheduled, "PostgresBackup %s created for the schedule's firing at %s",
		b.Name, fire.UTC().Format(time.RFC3339))
	return nil
}

// scheduledBackup is the PostgresBackup of one firing of a cluster's
// schedule. It is owned (not controlled) by the cluster, so it is deleted
// with it: its record describes that cluster's database, and a new cluster
// of the same name must not inherit a recoverability it does not have. The
// backup's data stays in the store, where a recovery finds it.
func scheduledBackup(pgc *v1alpha1.PostgresCluster, fire time.Time) *v1alpha1.PostgresBackup {
	return &v1alpha1.PostgresBackup{
		ObjectMeta: metav1.ObjectMeta{
			Name:      scheduledName(pgc.Name, fire),
			Namespace: pgc.Namespace,
			Labels: map[string]string{
				ClusterLabel:   pgc.Name,
				ScheduledLabel: "true",
				managedByLabel: managedBy,
			},
			Annotations: map[string]string{ScheduledAtAnnotation: fire.UTC().Format(time.RFC3339)},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         v1alpha1.SchemeGroupVersion.String(),
				Kind:               "PostgresCluster",
				Name:               pgc.Name,
				UID:                pgc.UID,
				BlockOwnerDeletion: ptr.To(false),
			}},
		},
		Spec: v1alpha1.PostgresBackupSpec{Cluster: pgc.Name, Type: v1alpha1.BackupFull},
	}
}
