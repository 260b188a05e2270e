package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// PostgresBackup asks for one base backup of a PostgresCluster and reports
// it. The operator runs the engine in a Job on the primary's node; the
// backup itself lives in the cluster's object store, not in this object.
//
// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=pgb,categories=postgres
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.cluster`
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Label",type=string,JSONPath=`.status.label`
// +kubebuilder:printcolumn:name="Size",type=string,JSONPath=`.status.size`
// +kubebuilder:printcolumn:name="Stopped",type=date,JSONPath=`.status.stopTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type PostgresBackup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec PostgresBackupSpec `json:"spec"`
	// +optional
	Status PostgresBackupStatus `json:"status,omitempty"`
}

// BackupType is the kind of base backup.
// +kubebuilder:validation:Enum=full;diff;incr
type BackupType string

// Backup types: full copies everything; diff what changed since the last
// full; incr what changed since the last backup of any type.
const (
	BackupFull BackupType = "full"
	BackupDiff BackupType = "diff"
	BackupIncr BackupType = "incr"
)

// PostgresBackupSpec names the cluster to back up.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a PostgresBackup's spec cannot change: create another one"
type PostgresBackupSpec struct {
	// Cluster is the PostgresCluster, in this namespace, to back up.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=40
	Cluster string `json:"cluster"`
	// Type is full (default), diff or incr.
	// +optional
	// +kubebuilder:default=full
	Type BackupType `json:"type,omitempty"`
}

// BackupPhase is where a backup is in its life.
type BackupPhase string

// Backup phases.
const (
	BackupPending   BackupPhase = "Pending"
	BackupRunning   BackupPhase = "Running"
	BackupCompleted BackupPhase = "Completed"
	BackupFailed    BackupPhase = "Failed"
	// BackupExpired: the engine's retention removed it from the store.
	BackupExpired BackupPhase = "Expired"
)

// PostgresBackupStatus reports one backup, from the engine's own record.
type PostgresBackupStatus struct {
	// +optional
	Phase BackupPhase `json:"phase,omitempty"`
	// Message says why a backup failed or what it waits for.
	// +optional
	Message string `json:"message,omitempty"`
	// Job is the Job that runs the engine.
	// +optional
	Job string `json:"job,omitempty"`
	// Label is the engine's name for the backup (pgBackRest's label).
	// +optional
	Label string `json:"label,omitempty"`
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// +optional
	StopTime *metav1.Time `json:"stopTime,omitempty"`
	// Size is the database's size as backed up, DatabaseBytes in bytes.
	// +optional
	Size string `json:"size,omitempty"`
	// +optional
	DatabaseBytes int64 `json:"databaseBytes,omitempty"`
	// RepositoryBytes is what the backup takes in the store (compressed).
	// +optional
	RepositoryBytes int64 `json:"repositoryBytes,omitempty"`
	// +optional
	BeginLSN string `json:"beginLSN,omitempty"`
	// +optional
	EndLSN string `json:"endLSN,omitempty"`
	// +optional
	BeginWAL string `json:"beginWAL,omitempty"`
	// +optional
	EndWAL string `json:"endWAL,omitempty"`
	// Primary is the member the backup was taken from.
	// +optional
	Primary string `json:"primary,omitempty"`
}

// PostgresBackupList is a list of PostgresBackups.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
type PostgresBackupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PostgresBackup `json:"items"`
}
