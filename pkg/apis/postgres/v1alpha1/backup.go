package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// BackupSpec turns on continuous WAL archiving and base backups to an
// S3-compatible object store, with pgBackRest as the engine.
type BackupSpec struct {
	// ObjectStore is where this cluster's backups and archived WAL go.
	ObjectStore ObjectStore `json:"objectStore"`

	// Schedule of base backups in cron syntax (five fields, UTC, or a
	// descriptor such as @daily). Empty: backups only on demand
	// (PostgresBackup resources).
	// +optional
	// +kubebuilder:validation:MaxLength=100
	Schedule string `json:"schedule,omitempty"`

	// Retention of full backups, applied by the engine after each backup.
	// With both set, a full backup is kept only while it is among the
	// newest count and younger than days.
	// +optional
	Retention BackupRetention `json:"retention,omitempty"`

	// ArchiveTimeout forces a WAL segment switch after this long without
	// one, which bounds how much a quiet cluster can lose (archive_timeout).
	// +optional
	// +kubebuilder:default="60s"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('1h')",message="backup.archiveTimeout must be between 1s and 1h"
	ArchiveTimeout *metav1.Duration `json:"archiveTimeout,omitempty"`

	// RecoverWhenVolumesLost lets the operator restore the cluster from
	// its own backups when every member's volume is gone. Off by default:
	// the cluster then stops with a Failed condition that says how to
	// recover by hand.
	// +optional
	RecoverWhenVolumesLost bool `json:"recoverWhenVolumesLost,omitempty"`
}

// BackupRetention bounds how many full backups the object store keeps.
type BackupRetention struct {
	// FullCount keeps the newest FullCount full backups (default 7).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=9999
	FullCount int32 `json:"fullCount,omitempty"`
	// FullDays keeps full backups younger than FullDays days.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=9999
	FullDays int32 `json:"fullDays,omitempty"`
}

// URIStyle is how buckets are addressed: host (bucket.endpoint) or path
// (endpoint/bucket), which most S3-compatible stores other than AWS need.
// +kubebuilder:validation:Enum=host;path
type URIStyle string

// ObjectStore is an S3-compatible bucket and a path inside it.
type ObjectStore struct {
	// Endpoint of the S3 API, https only: https://host[:port].
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^https://[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?(:[0-9]{1,5})?/?$')",message="objectStore.endpoint must be https://host[:port]: the engine speaks HTTPS only and checks the certificate's DNS name"
	Endpoint string `json:"endpoint"`
	// Bucket name.
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9][-a-z0-9.]*[a-z0-9]$`
	Bucket string `json:"bucket"`
	// Path inside the bucket. Empty means /<namespace>/<cluster name>.
	// Two clusters must never share a path.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^/[-a-zA-Z0-9_./]*$`
	Path string `json:"path,omitempty"`
	// Region of the bucket (default us-east-1).
	// +optional
	// +kubebuilder:default=us-east-1
	// +kubebuilder:validation:MaxLength=64
	Region string `json:"region,omitempty"`
	// URIStyle is host (default, AWS) or path.
	// +optional
	// +kubebuilder:default=host
	URIStyle URIStyle `json:"uriStyle,omitempty"`
	// Credentials name a Secret with the keys ACCESS_KEY_ID and ACCESS_SECRET_KEY.
	Credentials SecretName `json:"credentials"`
	// CA names a Secret whose key ca.crt is the CA bundle that signed the
	// store's certificate, for a private CA. Empty: the system's CAs.
	// +optional
	CA *SecretName `json:"ca,omitempty"`
}

// SecretName names a Secret in the cluster's namespace.
type SecretName struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Secret string `json:"secret"`
}

// BootstrapSpec says how the first member's database is made.
// +kubebuilder:validation:XValidation:rule="!(has(self.initdb) && has(self.recovery))",message="bootstrap takes initdb or recovery, not both"
type BootstrapSpec struct {
	// Initdb makes a new database (the default): with it the application's
	// database, its owner and scripts to run once (roles.go).
	// +optional
	Initdb *InitdbSpec `json:"initdb,omitempty"`
	// Recovery restores the database from another cluster's backups
	// instead of running initdb: a clone, a point-in-time recovery or a
	// recovery after every volume of the source was lost.
	// +optional
	Recovery *RecoverySpec `json:"recovery,omitempty"`
}

// RecoverySpec restores a new cluster from backups in an object store.
type RecoverySpec struct {
	// Source is the object store and path of the backups to restore (the
	// source cluster's spec.backup.objectStore, with its path made explicit
	// when it was the default /<namespace>/<cluster>). It is only read: the
	// new cluster archives to its own spec.backup.objectStore.
	Source ObjectStore `json:"source"`
	// Target is the point to recover to. Empty: the end of the archived WAL.
	// +optional
	Target *RecoveryTarget `json:"target,omitempty"`
}

// RecoveryTarget is one point in the source's history.
// +kubebuilder:validation:XValidation:rule="[has(self.time), has(self.lsn), has(self.name), has(self.xid), has(self.immediate) && self.immediate].filter(x, x).size() <= 1",message="recovery.target takes one of time, lsn, name, xid or immediate"
type RecoveryTarget struct {
	// Time, RFC 3339 (2026-12-01T17:04:05Z): recover up to the last commit
	// at or before it.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$')",message="recovery.target.time must be an RFC 3339 time with a zone, such as 2026-12-01T17:04:05Z"
	Time string `json:"time,omitempty"`
	// LSN such as 0/3000060.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$`
	LSN string `json:"lsn,omitempty"`
	// Name of a restore point made with pg_create_restore_point().
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[-a-zA-Z0-9_.:]+$`
	Name string `json:"name,omitempty"`
	// XID, a transaction id.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9]{1,20}$`
	XID string `json:"xid,omitempty"`
	// Immediate stops as soon as the restored backup is consistent.
	// +optional
	Immediate bool `json:"immediate,omitempty"`
	// Exclusive stops just before the target instead of just after it.
	// +optional
	Exclusive bool `json:"exclusive,omitempty"`
}

// BackupStatus is what the operator knows of a cluster's backups and WAL
// archive. Archiving fields come from the primary's pg_stat_archiver.
type BackupStatus struct {
	// FirstRecoverabilityPoint is the end of the oldest backup the operator
	// saw completed and not yet expired: the earliest time a restore reaches.
	// +optional
	FirstRecoverabilityPoint *metav1.Time `json:"firstRecoverabilityPoint,omitempty"`
	// LastSuccessfulBackup is when the newest completed backup ended.
	// +optional
	LastSuccessfulBackup *metav1.Time `json:"lastSuccessfulBackup,omitempty"`
	// LastSuccessfulBackupName names its PostgresBackup.
	// +optional
	LastSuccessfulBackupName string `json:"lastSuccessfulBackupName,omitempty"`
	// LastScheduledBackup is the schedule's last firing.
	// +optional
	LastScheduledBackup *metav1.Time `json:"lastScheduledBackup,omitempty"`
	// LastArchivedWAL is the newest WAL file the store acknowledged.
	// +optional
	LastArchivedWAL string `json:"lastArchivedWAL,omitempty"`
	// +optional
	LastArchivedTime *metav1.Time `json:"lastArchivedTime,omitempty"`
	// LastFailedWAL is the newest WAL file whose archiving failed.
	// +optional
	LastFailedWAL string `json:"lastFailedWAL,omitempty"`
	// +optional
	LastFailedTime *metav1.Time `json:"lastFailedTime,omitempty"`
	// LastFailure says why archiving last failed, as the engine reported it.
	// +optional
	LastFailure string `json:"lastFailure,omitempty"`
	// WALPending counts WAL files the primary has not archived yet (ready
	// files in pg_wal/archive_status): the archive's backlog.
	// +optional
	WALPending int64 `json:"walPending,omitempty"`
	// WALDropped counts WAL files the engine dropped because the backlog
	// hit its bound (the store was unreachable too long): point-in-time
	// recovery cannot cross them until the next full backup.
	// +optional
	WALDropped int64 `json:"walDropped,omitempty"`
}

// Backup condition types and reasons.
const (
	// ConditionContinuousArchiving is True while the primary's WAL reaches the store.
	ConditionContinuousArchiving = "ContinuousArchiving"
	// ConditionBackupsHealthy is False when the last backup failed or the
	// backup configuration is wrong.
	ConditionBackupsHealthy = "BackupsHealthy"
)
