package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PostgresCluster is a highly available PostgreSQL cluster: one primary and
// size-1 streaming replicas, each a Pod with its own PersistentVolumeClaim.
//
// +genclient
// +genclient:method=GetScale,verb=get,subresource=scale,result=k8s.io/api/autoscaling/v1.Scale
// +genclient:method=UpdateScale,verb=update,subresource=scale,input=k8s.io/api/autoscaling/v1.Scale,result=k8s.io/api/autoscaling/v1.Scale
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=pgc,categories=postgres
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.size,statuspath=.status.size,selectorpath=.status.selector
// +kubebuilder:printcolumn:name="Size",type=integer,JSONPath=`.spec.size`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyMembers`
// +kubebuilder:printcolumn:name="Primary",type=string,JSONPath=`.status.primary`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Last backup",type=date,JSONPath=`.status.backup.lastSuccessfulBackup`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="!has(self.spec.bootstrap) || !has(self.spec.bootstrap.recovery) || !has(self.spec.backup) || !has(self.spec.backup.objectStore.path) || self.spec.backup.objectStore.endpoint != self.spec.bootstrap.recovery.source.endpoint || self.spec.backup.objectStore.bucket != self.spec.bootstrap.recovery.source.bucket || self.spec.backup.objectStore.path != self.spec.bootstrap.recovery.source.path",message="spec.backup.objectStore must not point at the recovery source's path: a recovered cluster archives to a path of its own and never writes into the source's"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.bootstrap) || !has(self.spec.bootstrap.recovery) || has(self.spec.bootstrap.recovery.source.path)",message="spec.bootstrap.recovery.source.path is required: the path of the source cluster's backups (by default /<namespace>/<source cluster name>)"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 40",message="metadata.name must be at most 40 characters so that every derived name (<name>-<ordinal>-data, <name>-replication) fits in 63"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must start with a letter and contain only lowercase letters, digits and '-' (it names Services)"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.databases) || self.spec.databases.all(d, !has(d.owner) || d.owner == 'postgres' || d.owner == (has(self.spec.bootstrap) && has(self.spec.bootstrap.initdb) && has(self.spec.bootstrap.initdb.owner) ? self.spec.bootstrap.initdb.owner : 'app') || (has(self.spec.roles) && self.spec.roles.exists(r, r.name == d.owner && (!has(r.ensure) || r.ensure == 'present'))))",message="databases: each owner must be postgres, the application's owner (spec.bootstrap.initdb.owner, default app) or a present role of spec.roles"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.roles) || self.spec.roles.all(r, !has(r.passwordSecret) || r.name != (has(self.spec.bootstrap) && has(self.spec.bootstrap.initdb) && has(self.spec.bootstrap.initdb.owner) ? self.spec.bootstrap.initdb.owner : 'app'))",message="roles: the application's owner takes its password from Secret <cluster>-app, not from a passwordSecret"
type PostgresCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec PostgresClusterSpec `json:"spec"`
	// +optional
	Status PostgresClusterStatus `json:"status,omitempty"`
}

// SwitchoverAnnotation on a PostgresCluster asks for a switchover to the
// named member, or to the best replica with the value "any".
const SwitchoverAnnotation = "postgres-operator.dev/switchover"

// RestartAnnotation on a PostgresCluster asks for a rolling restart: each
// new value (a timestamp, say) restarts every member once, replicas first,
// the primary by a switchover, like `kubectl rollout restart`.
const RestartAnnotation = "postgres-operator.dev/restart"

// PostgresClusterSpec is the desired state of a PostgresCluster.
type PostgresClusterSpec struct {
	// Size is the number of members: one primary plus size-1 replicas.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=16
	Size int32 `json:"size"`

	// PostgresVersion is the PostgreSQL major version. It cannot change
	// after creation: major version upgrades are not supported yet.
	// +kubebuilder:validation:Enum=14;15;16;17;18
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="postgresVersion is immutable: major version upgrades are not supported yet"
	PostgresVersion int32 `json:"postgresVersion"`

	// Image is the container image that runs PostgreSQL. Empty means the
	// operator's image template for postgresVersion (by default postgres:<major>).
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image,omitempty"`

	// Paused stops every action of the operator on this cluster (maintenance).
	// +optional
	Paused bool `json:"paused,omitempty"`

	// Storage is the volume of each member.
	Storage StorageSpec `json:"storage"`

	// Resources of the PostgreSQL container.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!has(self.limits) || !('memory' in self.limits) || !string(self.limits['memory']).endsWith('m')",message="resources.limits.memory ends in 'm', thousandths of a byte: write Mi (512Mi) or M"
	// +kubebuilder:validation:XValidation:rule="!has(self.requests) || !('memory' in self.requests) || !string(self.requests['memory']).endsWith('m')",message="resources.requests.memory ends in 'm', thousandths of a byte: write Mi (512Mi) or M"
	// +kubebuilder:validation:XValidation:rule="!has(self.requests) || !has(self.limits) || !('memory' in self.requests) || !('memory' in self.limits) || quantity(string(self.requests['memory'])).compareTo(quantity(string(self.limits['memory']))) <= 0",message="resources.requests.memory may not be more than resources.limits.memory"
	// +kubebuilder:validation:XValidation:rule="!has(self.requests) || !has(self.limits) || !('cpu' in self.requests) || !('cpu' in self.limits) || quantity(string(self.requests['cpu'])).compareTo(quantity(string(self.limits['cpu']))) <= 0",message="resources.requests.cpu may not be more than resources.limits.cpu"
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// The CEL rules below spell ParameterNamePattern and OwnedParameters
	// (parameters.go), which a marker cannot name; parameters_test.go fails
	// when they disagree.

	// Parameters are postgresql.conf settings: lowercase setting names (at
	// most one '.', as in pg_stat_statements.max), values of one line.
	// Settings the operator owns are refused.
	// +optional
	// +kubebuilder:validation:MaxProperties=200
	// +kubebuilder:validation:XValidation:rule=`self.all(k, k.matches('^[a-z_][a-z0-9_]{0,62}([.][a-z_][a-z0-9_]{0,62})?$'))`,message=`parameters: names must be lowercase PostgreSQL setting names: letters, digits and '_', at most 63 characters, with at most one '.' (as in pg_stat_statements.max)`
	// +kubebuilder:validation:XValidation:rule=`self.all(k, !(k in ['listen_addresses', 'port', 'unix_socket_directories', 'data_directory', 'config_file', 'hba_file', 'ident_file', 'external_pid_file', 'cluster_name', 'wal_level', 'wal_log_hints', 'hot_standby', 'primary_conninfo', 'primary_slot_name', 'synchronous_standby_names', 'promote_trigger_file', 'wal_receiver_status_interval', 'recovery_target_timeline', 'restore_command', 'archive_cleanup_command', 'recovery_end_command', 'recovery_target', 'recovery_target_lsn', 'recovery_target_name', 'recovery_target_time', 'recovery_target_xid', 'recovery_target_inclusive', 'recovery_target_action', 'archive_mode', 'archive_command', 'archive_library', 'password_encryption', 'ssl', 'ssl_cert_file', 'ssl_key_file', 'ssl_ca_file']))`,message=`parameters may not set settings the operator owns: listen_addresses, port, unix_socket_directories, data_directory, config_file, hba_file, ident_file, external_pid_file, cluster_name, wal_level, wal_log_hints, hot_standby, primary_conninfo, primary_slot_name, synchronous_standby_names, promote_trigger_file, wal_receiver_status_interval, recovery_target_timeline, restore_command, archive_cleanup_command, recovery_end_command, recovery_target, recovery_target_lsn, recovery_target_name, recovery_target_time, recovery_target_xid, recovery_target_inclusive, recovery_target_action, archive_mode, archive_command, archive_library, password_encryption, ssl, ssl_cert_file, ssl_key_file, ssl_ca_file`
	// +kubebuilder:validation:XValidation:rule=`self.all(k, !self[k].matches('[[:cntrl:]]'))`,message=`parameters: values may not contain control characters such as a newline`
	Parameters map[string]ParameterValue `json:"parameters,omitempty"`

	// Replication chooses how replicas acknowledge commits.
	// +optional
	Replication ReplicationSpec `json:"replication,omitempty"`

	// Failover controls automatic failover when the primary is lost.
	// +optional
	Failover FailoverSpec `json:"failover,omitempty"`

	// Pod customises the member pods.
	// +optional
	Pod PodSpec `json:"pod,omitempty"`

	// DeletionProtection makes the API server refuse to delete this
	// PostgresCluster (a ValidatingAdmissionPolicy shipped with the operator,
	// manifests/admission). Set it to false to delete the cluster.
	// +optional
	DeletionProtection bool `json:"deletionProtection,omitempty"`

	// Backup turns on WAL archiving and base backups to an object store.
	// +optional
	Backup *BackupSpec `json:"backup,omitempty"`

	// TLS chooses where the certificates come from. TLS is always on.
	// +optional
	TLS TLSSpec `json:"tls,omitempty"`

	// SuperuserAccess lets the postgres superuser log in over TCP with its
	// password (from the <cluster>-superuser Secret). Off by default: the
	// superuser then logs in only over the members' local socket
	// (`kubectl pgc psql`, `kubectl exec`) or with the client certificate
	// the operator itself uses.
	// +optional
	SuperuserAccess bool `json:"superuserAccess,omitempty"`

	// Bootstrap says how the database is made: initdb (default) or
	// recovery from backups. It cannot change after creation.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="bootstrap is immutable: it only matters when the cluster is created"
	Bootstrap *BootstrapSpec `json:"bootstrap,omitempty"`

	// Roles the operator creates and keeps as declared on the primary
	// (roles.go).
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:XValidation:rule="self.all(r, self.exists_one(o, o.name.replace('_', '-') == r.name.replace('_', '-')))",message="roles: two names may not differ only by '_' and '-': they would share the generated Secret <cluster>-role-<name>"
	Roles []RoleSpec `json:"roles,omitempty"`

	// Databases the operator creates and keeps as declared (roles.go).
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Databases []DatabaseSpec `json:"databases,omitempty"`
}

// StorageSpec describes each member's PersistentVolumeClaim.
//
// +kubebuilder:validation:XValidation:rule="has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)",message="storage.storageClassName is immutable"
type StorageSpec struct {
	// Size of each member's volume. It can grow but never shrink.
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="storage.size must be a positive quantity such as 1Gi"
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).compareTo(quantity(string(oldSelf))) >= 0",message="storage.size can grow but never shrink"
	Size resource.Quantity `json:"size"`

	// StorageClassName of the volumes; empty means the cluster's default class.
	// Immutable.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	StorageClassName *string `json:"storageClassName,omitempty"`

	// RetainOnDelete keeps the volumes when the PostgresCluster is deleted.
	// +optional
	RetainOnDelete bool `json:"retainOnDelete,omitempty"`
}

// ReplicationMode is how a commit on the primary is acknowledged.
// +kubebuilder:validation:Enum=async;sync
type ReplicationMode string

const (
	// ReplicationAsync acknowledges a commit once it is durable on the primary.
	ReplicationAsync ReplicationMode = "async"
	// ReplicationSync acknowledges a commit once it is durable on at least one replica too.
	ReplicationSync ReplicationMode = "sync"
)

// ReplicationSpec configures streaming replication.
type ReplicationSpec struct {
	// Mode is async (default) or sync. In sync mode a commit returns only
	// once one replica has it; a cluster with no replica keeps accepting writes.
	// +optional
	// +kubebuilder:default=async
	Mode ReplicationMode `json:"mode,omitempty"`
}

// FailoverSpec controls automatic failover.
type FailoverSpec struct {
	// Disabled turns automatic failover off; the cluster then waits for its
	// primary to come back.
	// +optional
	Disabled bool `json:"disabled,omitempty"`

	// DelaySeconds waits this long after the primary is lost before failing over.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3600
	DelaySeconds int32 `json:"delaySeconds,omitempty"`

	// FenceAfterSeconds is the lease of self-fencing, T. A primary that has
	// heard neither from the operator nor from any replica for this long
	// stops itself: its liveness probe fails and the kubelet kills it, even
	// on a node cut off from the API server. A primary the operator cannot
	// confirm dead (its node unreachable) is promoted past only once this
	// long, plus a margin, has passed since it was last known alive. Deaths
	// the kubelet confirms (pod deleted, container exited) do not wait. A
	// one-member cluster never fences itself. Lower means faster failover
	// after a partition; higher tolerates longer operator outages while no
	// replica streams. It reaches a member when its pod is next created.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=5
	// +kubebuilder:validation:Maximum=300
	FenceAfterSeconds int32 `json:"fenceAfterSeconds,omitempty"`

	// NodeLostAfterSeconds is how long a member's node may be NotReady or
	// unreachable (or gone) before the member is re-created on another
	// node. It applies to a replica (a failed-over old primary too) whose
	// volume is pinned to that node (node-local storage): its pod is
	// force-deleted, its volume deleted, and a new replica is cloned from
	// the primary elsewhere. A node back in time keeps its members, which
	// rejoin by themselves (an old primary through pg_rewind). The time
	// counts from the node's Ready condition turning False or Unknown,
	// which the node controller does about 50 s after the kubelet stops
	// reporting. A primary is never replaced: it fails over first.
	// +optional
	// +kubebuilder:default=60
	// +kubebuilder:validation:Minimum=10
	// +kubebuilder:validation:Maximum=3600
	NodeLostAfterSeconds int32 `json:"nodeLostAfterSeconds,omitempty"`
}

// PodSpec customises the member pods.
type PodSpec struct {
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`
	// TopologySpreadConstraints replace the operator's default, which
	// prefers (whenUnsatisfiable: ScheduleAnyway) to put each member on a
	// node of its own (topologyKey kubernetes.io/hostname). An empty list
	// turns the default off. Changing this field restarts the members, one
	// at a time.
	// +optional
	// +listType=atomic
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
	// Labels added to every member pod. The postgres-operator.dev/ prefix
	// is reserved, and app.kubernetes.io/managed-by is the operator's: it
	// selects its pods by both.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('postgres-operator.dev/'))",message="pod.labels may not use the reserved postgres-operator.dev/ prefix"
	// +kubebuilder:validation:XValidation:rule="!('app.kubernetes.io/managed-by' in self)",message="pod.labels may not set app.kubernetes.io/managed-by: the operator selects its pods by it"
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations added to every member pod. The postgres-operator.dev/
	// prefix is reserved: the operator's own annotations (fenced, spec-hash,
	// bootstrap) decide failover and rolls.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('postgres-operator.dev/'))",message="pod.annotations may not use the reserved postgres-operator.dev/ prefix"
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PostgresClusterList is a list of PostgresClusters.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
type PostgresClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PostgresCluster `json:"items"`
}
