package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ClusterPhase is a one-word summary of a cluster; conditions carry the detail.
type ClusterPhase string

// Phases, from creation to failure.
const (
	PhaseCreating    ClusterPhase = "Creating"
	PhaseRunning     ClusterPhase = "Running"
	PhaseScaling     ClusterPhase = "Scaling"
	PhaseUpdating    ClusterPhase = "Updating"
	PhaseFailingOver ClusterPhase = "FailingOver"
	PhaseRecovering  ClusterPhase = "Recovering"
	PhaseFailed      ClusterPhase = "Failed"
	PhasePaused      ClusterPhase = "Paused"
)

// Condition types.
const (
	// ConditionReady is True when every member is ready and the primary accepts writes.
	ConditionReady = "Ready"
	// ConditionPrimaryAvailable is True when a primary is labelled and answering.
	ConditionPrimaryAvailable = "PrimaryAvailable"
	// ConditionProgressing is True while the operator is changing the cluster.
	ConditionProgressing = "Progressing"
	// ConditionDegraded is True when members are missing or unready.
	ConditionDegraded = "Degraded"
	// ConditionPaused is True while spec.paused stops all actions.
	ConditionPaused = "Paused"
	// ConditionFailed is True when the operator cannot continue without help.
	ConditionFailed = "Failed"
	// ConditionPasswordsInSync is True when the roles have the passwords in
	// the superuser and replication Secrets.
	ConditionPasswordsInSync = "PasswordsInSync"
	// ConditionCertificatesReady: the server and client certificates are
	// valid, signed by the cluster's CA and not about to expire.
	ConditionCertificatesReady = "CertificatesReady"
)

// PostgresClusterStatus is the observed state of a PostgresCluster.
type PostgresClusterStatus struct {
	// Phase summarises the cluster's state.
	// +optional
	Phase ClusterPhase `json:"phase,omitempty"`
	// Primary is the member that accepts writes.
	// +optional
	Primary string `json:"primary,omitempty"`
	// Size is the number of member pods that exist (the scale subresource's replicas).
	// +optional
	Size int32 `json:"size,omitempty"`
	// ReadyMembers counts members that are ready.
	// +optional
	ReadyMembers int32 `json:"readyMembers,omitempty"`
	// Members lists members by readiness.
	// +optional
	Members MembersStatus `json:"members,omitempty"`
	// Conditions: Ready, PrimaryAvailable, Progressing, Degraded, Paused, Failed.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Selector selects the member pods (for the scale subresource).
	// +optional
	Selector string `json:"selector,omitempty"`
	// CurrentImage is the PostgreSQL image the members run.
	// +optional
	CurrentImage string `json:"currentImage,omitempty"`
	// Timeline is the primary's PostgreSQL timeline.
	// +optional
	Timeline int64 `json:"timeline,omitempty"`
	// SystemIdentifier is the PostgreSQL system identifier of this cluster's
	// database (pg_control_system()), recorded once the first primary
	// answers. A member whose data directory reports another one belongs to
	// another database: it is never promoted nor made part of the cluster.
	// +optional
	SystemIdentifier string `json:"systemIdentifier,omitempty"`
	// Initialized is set once the seed member has bootstrapped a database.
	// From then on the operator never runs initdb for this cluster again.
	// +optional
	Initialized bool `json:"initialized,omitempty"`
	// LastOrdinal is the highest member ordinal ever used; ordinals are never reused.
	// +optional
	LastOrdinal int32 `json:"lastOrdinal,omitempty"`
	// PendingRestart is true while a parameter change waits for members to restart.
	// +optional
	PendingRestart bool `json:"pendingRestart,omitempty"`
	// SwitchoverTarget is the member a switchover in progress promotes.
	// +optional
	SwitchoverTarget string `json:"switchoverTarget,omitempty"`
	// LastSwitchover is the last value of the switchover annotation the
	// operator acted on; set the annotation to another value to switch again.
	// +optional
	LastSwitchover string `json:"lastSwitchover,omitempty"`
	// Backup reports backups and WAL archiving (when spec.backup is set).
	// +optional
	Backup *BackupStatus `json:"backup,omitempty"`
	// TLS reports the certificates the members serve with.
	// +optional
	TLS *TLSStatus `json:"tls,omitempty"`
	// MemberStatuses details each member.
	// +optional
	// +listType=map
	// +listMapKey=name
	MemberStatuses []MemberStatus `json:"memberStatuses,omitempty"`
	// Roles reports each declared role and the application's owner.
	// +optional
	// +listType=map
	// +listMapKey=name
	Roles []ManagedStatus `json:"roles,omitempty"`
	// Databases reports each declared database and the application's.
	// +optional
	// +listType=map
	// +listMapKey=name
	Databases []ManagedStatus `json:"databases,omitempty"`
	// InitSQL reports the databaseInitSQL scripts.
	// +optional
	InitSQL *InitSQLStatus `json:"initSQL,omitempty"`
}

// MembersStatus lists member names by readiness.
type MembersStatus struct {
	// +optional
	Ready []string `json:"ready,omitempty"`
	// +optional
	Unready []string `json:"unready,omitempty"`
}

// MemberStatus is one member's observed state.
type MemberStatus struct {
	Name string `json:"name"`
	// Role is primary or replica, or diverged: a standby proven to hold
	// WAL the primary never had, which no Service routes to until it is
	// re-cloned.
	// +optional
	Role string `json:"role,omitempty"`
	// +optional
	Ready bool `json:"ready,omitempty"`
	// LagBytes is how far this replica's replay is behind the primary.
	// +optional
	LagBytes int64 `json:"lagBytes,omitempty"`
}
