package postgres

import (
	"context"
	"time"
)

// Client is everything pkg/cluster may do to a PostgreSQL instance.
//
// Every method works on a connection to the given endpoint: the one its last
// call left open, or a new one (see conn.go, pool.go). Implementations are
// safe for concurrent use.
type Client interface {
	// Probe reports the instance's role, timeline and WAL positions in one
	// round trip.
	Probe(ctx context.Context, ep Endpoint) (Status, error)
	// Replication lists the walsenders of a primary (pg_stat_replication).
	Replication(ctx context.Context, ep Endpoint) ([]ReplicaStat, error)

	// EnsureSlot creates the physical replication slot if it is missing.
	EnsureSlot(ctx context.Context, ep Endpoint, name string) error
	// DropSlot drops the slot if it exists, terminating its walsender first.
	DropSlot(ctx context.Context, ep Endpoint, name string) error
	// Slots lists all replication slots.
	Slots(ctx context.Context, ep Endpoint) ([]Slot, error)

	// SetParameters writes the settings with ALTER SYSTEM and reloads the
	// configuration if anything changed. It works on hot standbys too.
	// Settings the server refuses are skipped and reported together in a
	// *RejectedError (see AsRejected); the others are still applied.
	// Values are not treated as secrets: they end up in postgresql.auto.conf,
	// in server error messages and, with log_statement, in the server log.
	SetParameters(ctx context.Context, ep Endpoint, set map[string]string, reset []string) (changed bool, err error)
	// AutoConf reads the settings ALTER SYSTEM has written
	// (postgresql.auto.conf), so a caller can reset the ones it no longer wants.
	AutoConf(ctx context.Context, ep Endpoint) (map[string]string, error)
	// Reload asks the server to re-read its configuration files.
	Reload(ctx context.Context, ep Endpoint) error
	// PendingRestart names the settings that only take effect after a restart.
	PendingRestart(ctx context.Context, ep Endpoint) ([]string, error)
	// SetSynchronousStandbyNames sets synchronous_standby_names (see
	// SyncStandbyNames) and reloads.
	SetSynchronousStandbyNames(ctx context.Context, ep Endpoint, value string) error

	// Promote turns a standby into a primary, waiting up to wait for the
	// promotion to finish. Promoting a primary is a no-op.
	Promote(ctx context.Context, ep Endpoint, wait time.Duration) error
	// Checkpoint runs CHECKPOINT (a restartpoint on a standby).
	Checkpoint(ctx context.Context, ep Endpoint) error

	// EnsureRole creates the role or fixes its LOGIN and REPLICATION flags.
	EnsureRole(ctx context.Context, ep Endpoint, role string, login, replication bool) error
	// SetPassword sets the role's password as a SCRAM-SHA-256 verifier
	// computed here, so the plaintext never reaches the server or its log.
	SetPassword(ctx context.Context, ep Endpoint, role, password string) error
	// Archiver reads a primary's WAL archiving state (archiver.go).
	Archiver(ctx context.Context, ep Endpoint, statusDir string) (ArchiverStatus, error)
	// Stats reads the instance's statistics for the metrics (stats.go).
	// serverVersion is server_version_num as the caller's probe saw it;
	// 0 asks the server first.
	Stats(ctx context.Context, ep Endpoint, serverVersion int) (MemberStats, error)
	// CustomQueries runs the administrator's metric queries, read-only,
	// and answers each (custom.go).
	CustomQueries(ctx context.Context, ep Endpoint, qs []CustomQuery) []CustomResult

	// RoleHasPassword reports whether the role's stored SCRAM verifier was
	// made from password; the check runs here, not on the server.
	RoleHasPassword(ctx context.Context, ep Endpoint, role, password string) (bool, error)

	// Declared roles and databases (managed*.go) and init scripts (script.go).
	ReadCatalog(ctx context.Context, ep Endpoint, roles, databases []string) (Catalog, error)
	EnsureManagedRole(ctx context.Context, ep Endpoint, role ManagedRole, password string) error
	DropManagedRole(ctx context.Context, ep Endpoint, role string) error
	EnsureDatabase(ctx context.Context, ep Endpoint, name, owner string) error
	EnsureExtensions(ctx context.Context, ep Endpoint, database string, extensions []string) error
	DropDatabase(ctx context.Context, ep Endpoint, name string, withData bool) error
	RunScript(ctx context.Context, ep Endpoint, database, script string) error
}

// Status is what Probe reports about one instance.
type Status struct {
	// InRecovery is true on a standby (pg_is_in_recovery()).
	InRecovery bool
	// Timeline is the timeline the primary writes, or the standby last
	// received (falling back to its last restartpoint's timeline).
	Timeline uint32

	// CurrentLSN is pg_current_wal_lsn() on a primary; zero on a standby.
	CurrentLSN LSN
	// ReceivedLSN is pg_last_wal_receive_lsn() on a standby; zero on a primary
	// and on a standby that never streamed.
	ReceivedLSN LSN
	// ReplayedLSN is pg_last_wal_replay_lsn() on a standby; zero on a primary.
	ReplayedLSN LSN

	// PendingRestart names settings changed in the config files that need a
	// restart to apply (pg_settings.pending_restart).
	PendingRestart []string
	// PendingDecrease names those of PendingRestart that a standby checks
	// against its primary's values (StandbyCheckedSettings) and whose value
	// in the config files is lower than the running one.
	PendingDecrease []string
	// SystemIdentifier identifies the cluster (initdb run) this data
	// directory belongs to; a standby of it reports the same value.
	SystemIdentifier uint64
	// ServerVersion is server_version_num, e.g. 150010.
	ServerVersion int

	// ReceiverStatus is pg_stat_wal_receiver.status ("streaming",
	// "catchup", ...) or "" when no WAL receiver runs.
	ReceiverStatus string
	// UpstreamHost and UpstreamPort are where the WAL receiver is connected.
	UpstreamHost string
	UpstreamPort int
	// UpstreamSlot is the replication slot the WAL receiver uses, if any.
	UpstreamSlot string
	// PrimaryConninfo is the primary_conninfo setting: where a standby
	// streams from (it holds no password: that is in a password file).
	PrimaryConninfo string

	// SafetyStatus: what failover and re-cloning check (safety_status.go).
	SafetyStatus
}

// Streaming reports whether the standby's WAL receiver is streaming.
func (s Status) Streaming() bool { return s.ReceiverStatus == "streaming" }

// Position is how far this instance's WAL goes: the current LSN of a
// primary, or the furthest of received and replayed WAL of a standby. It is
// what failover compares to pick the most up-to-date replica.
func (s Status) Position() LSN {
	if !s.InRecovery {
		return s.CurrentLSN
	}
	return max(s.ReceivedLSN, s.ReplayedLSN)
}

// ReplicaStat is one row of pg_stat_replication on a primary.
type ReplicaStat struct {
	PID             int
	ApplicationName string
	ClientAddr      string // "" for a Unix-socket connection
	State           string // "streaming", "catchup", "startup", "backup", "stopping"
	SyncState       string // "async", "potential", "sync", "quorum"

	SentLSN   LSN
	WriteLSN  LSN
	FlushLSN  LSN
	ReplayLSN LSN

	// The lags are zero when the standby is caught up (the view shows NULL).
	WriteLag  time.Duration
	FlushLag  time.Duration
	ReplayLag time.Duration
}

// Slot is one row of pg_replication_slots.
type Slot struct {
	Name       string
	Type       string // "physical" or "logical"
	Active     bool
	ActivePID  int
	RestartLSN LSN
	WALStatus  string // "reserved", "extended", "unreserved", "lost" or ""
	// ActiveApplication is the application_name of the walsender using
	// the slot ("" when inactive): a member's name, or someone else's.
	ActiveApplication string
}
