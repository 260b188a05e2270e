package v1alpha1

// Labels the operator puts on the objects it makes for a cluster: part of
// the API, since users select on them (kubectl -l, Services, monitoring).
// pkg/cluster, pkg/backup and pkg/controller all take them from here.
const (
	// ClusterLabel names the PostgresCluster an object belongs to. The
	// operator's informers only watch objects carrying it.
	ClusterLabel = "postgres-operator.dev/cluster"
	// MemberLabel names the member (pod) an object belongs to.
	MemberLabel = "postgres-operator.dev/member"
	// RoleLabel is RolePrimary, RoleReplica or RoleDiverged; the Services
	// select on it, and a member reads it at start to decide whether it may
	// run as a primary.
	RoleLabel = "postgres-operator.dev/role"

	RolePrimary = "primary"
	RoleReplica = "replica"
	// RoleDiverged marks a standby proven to hold WAL the primary never
	// had (an async failover promoted a member behind it): no Service
	// routes to it, and it is re-cloned once it has not streamed for a
	// minute.
	RoleDiverged = "diverged"

	// ManagedByLabel is set to ManagedBy on everything the operator makes.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "postgres-operator"
)
