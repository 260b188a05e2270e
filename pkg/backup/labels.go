package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Labels and annotations. Those pkg/cluster also names have its values
// (labels_test.go checks it); they are repeated here because pkg/cluster may
// import this package (ParseSchedule), not the other way round.
const (
	// ClusterLabel is on every Job (and its pod) and on every scheduled
	// PostgresBackup; the operator's kube informers only see objects with it.
	ClusterLabel   = "postgres-operator.dev/cluster"
	memberLabel    = "postgres-operator.dev/member"
	roleLabel      = "postgres-operator.dev/role"
	rolePrimary    = "primary"
	managedByLabel = "app.kubernetes.io/managed-by"
	managedBy      = "postgres-operator"

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
