package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Labels and annotations. The keys every package shares are the API's
// (v1alpha1/labels.go).
const (
	// ClusterLabel is on every Job (and its pod) and on every scheduled
	// PostgresBackup; the operator's kube informers only see objects with it.
	ClusterLabel   = v1alpha1.ClusterLabel
	memberLabel    = v1alpha1.MemberLabel
	roleLabel      = v1alpha1.RoleLabel
	rolePrimary    = v1alpha1.RolePrimary
	managedByLabel = v1alpha1.ManagedByLabel
	managedBy      = v1alpha1.ManagedBy

	// BackupLabel on a Job and its pod names the PostgresBackup they run.
	BackupLabel = "postgres-operator.dev/backup"
	// ScheduledLabel marks the PostgresBackups a schedule created.
	ScheduledLabel = "postgres-operator.dev/scheduled"
	// ScheduledAtAnnotation is the firing time (RFC 3339, UTC) of a scheduled
	// PostgresBackup: the base of the schedule's next firing.
	ScheduledAtAnnotation = "postgres-operator.dev/scheduled-at"
	// primaryAnnotation on a Job names the member it backs up.
	primaryAnnotation = "postgres-operator.dev/primary"
)

// maxNameLength is the longest Job name and label value: the Job controller
// puts the Job's name in a label of its pods.
const maxNameLength = 63

// jobName is the Job of a backup: the backup's own name, so that
// `kubectl logs job/<backup>` shows its run.
func jobName(backup string) string { return shortName(backup) }

// shortName returns name when it fits in 63 characters, else a prefix of it
// and a hash of the whole, so that two long names never share a result.
func shortName(name string) string {
	if len(name) <= maxNameLength {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := hex.EncodeToString(sum[:])[:8]
	prefix := strings.TrimRight(name[:maxNameLength-len(suffix)-1], "-.")
	return prefix + "-" + suffix
}

// scheduledName is the PostgresBackup of one firing of a cluster's schedule.
// It is a function of the firing alone: creating it twice is a no-op.
// Cluster names have at most 40 characters, so this has at most 55.
func scheduledName(cluster string, fire time.Time) string {
	return cluster + "-" + fire.UTC().Format("20060102150405")
}
