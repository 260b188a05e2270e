package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// MemberStats is what Stats reads of one instance for the metrics: what
// users alert on, in one cheap statement.
type MemberStats struct {
	// InRecovery is true on a standby.
	InRecovery    bool
	ServerVersion int // server_version_num
	// Connections counts client backends (pg_stat_activity, the
	// operator's connections excluded) by state: "active", "idle",
	// "idle in transaction", ... (ConnectionStates); any other state is
	// counted as "other".
	Connections    map[string]int64
	MaxConnections int64
	// Summed over every database (pg_stat_database).
	XactCommit, XactRollback, Deadlocks int64
	// DatabaseSize is the sum of pg_database_size over the first
	// MaxSizedDatabases databases that accept connections, by OID.
	DatabaseSize int64
	// WALBytes is pg_stat_wal.wal_bytes: WAL this instance wrote since
	// its statistics were last reset.
	WALBytes int64
	// Checkpoints (restartpoints on a standby): pg_stat_bgwriter before
	// PostgreSQL 17, pg_stat_checkpointer from 17 on.
	CheckpointsTimed, CheckpointsRequested int64
	// LongestTransaction is the age of the oldest open transaction of a
	// client backend; 0 when none is open.
	LongestTransaction time.Duration
	// OldestXminAge is, in transactions, the age of the oldest xmin that
	// holds back vacuum: a backend's (walsenders of hot_standby_feedback
	// included), a replication slot's xmin or catalog_xmin, a prepared
	// transaction's. 0 when nothing holds one.
	OldestXminAge int64
	// ReplayLag is, on a standby, how long ago the primary committed what
	// was replayed last, or 0 when replay has caught up with what was
	// received. ReplayLagKnown is false on a primary and on a standby that
	// replayed no transaction since it started.
	ReplayLag      time.Duration
	ReplayLagKnown bool
	// SlotRetainedWAL is, on a primary, the WAL each replication slot
	// holds back (pg_current_wal_lsn() - restart_lsn), for the MaxSlots
	// slots that hold the most.
	SlotRetainedWAL map[string]int64
}

// ConnectionStates are the states of pg_stat_activity that Stats tells
// apart; OtherState counts the rest, so the states stay a bounded set.
var ConnectionStates = []string{"active", "idle", "idle in transaction", "idle in transaction (aborted)",
	"fastpath function call", "disabled"}

// OtherState is the state of connections in none of ConnectionStates.
const OtherState = "other"

// Bounds of what Stats reads, so its cost and the metrics' cardinality do
// not grow with what users create.
const (
	// MaxSizedDatabases bounds the pg_database_size calls. Each one stats
	// every file of its database: 32 covers the clusters this operator
	// makes (an application database or a few) at a few milliseconds.
	MaxSizedDatabases = 32
	// MaxSlots bounds the slots reported: the members' own (one per
	// replica) and a few logical ones; the largest are kept.
	MaxSlots = 16
)

// statsQuery reads everything but the checkpoint counters, which moved in
// PostgreSQL 17 (checkpointQuery); %s is their two columns.
//
// pg_is_in_recovery() is evaluated once, as in probeQuery, and the CASEs
// keep primary-only functions from running on a standby. Replay lag is 0
// when replay has caught up with what was received (an idle primary sends
// nothing, and the last replayed commit ages without any lag).
//
// Each view is read once (p, sums): a view read twice is planned and scanned
// twice, and the server plans the whole statement at every read (no
// arguments, so no prepared statement: one round trip).
const statsQuery = `
WITH r AS MATERIALIZED (SELECT pg_is_in_recovery() AS standby),
p AS MATERIALIZED (SELECT pid, backend_type, application_name, state, xact_start, backend_xmin FROM pg_stat_activity),
a AS (SELECT state, xact_start FROM p WHERE backend_type = 'client backend' AND application_name <> 'postgres-operator'),
sums AS (SELECT coalesce(sum(xact_commit), 0)::bigint AS commits, coalesce(sum(xact_rollback), 0)::bigint AS rollbacks,
                coalesce(sum(deadlocks), 0)::bigint AS deadlocks
         FROM pg_stat_database)
SELECT r.standby,
       current_setting('server_version_num')::int,
       current_setting('max_connections')::bigint,
       (SELECT coalesce(json_object_agg(st, n), '{}')::text
        FROM (SELECT coalesce(state, '') AS st, count(*) AS n FROM a GROUP BY 1) s),
       sums.commits, sums.rollbacks, sums.deadlocks,
       (SELECT coalesce(sum(pg_database_size(oid)), 0)::bigint
        FROM (SELECT oid FROM pg_database WHERE datallowconn AND datconnlimit <> -2
              ORDER BY oid LIMIT ` + "%d" + `) d),
       (SELECT wal_bytes::bigint FROM pg_stat_wal),
       %s,
       coalesce(extract(epoch FROM clock_timestamp() - (SELECT min(xact_start) FROM a)), 0)::float8,
       coalesce(greatest(
           (SELECT max(age(backend_xmin)) FROM p WHERE pid <> pg_backend_pid()),
           (SELECT max(greatest(age(xmin), age(catalog_xmin))) FROM pg_replication_slots),
           (SELECT max(age(transaction)) FROM pg_prepared_xacts)), 0)::bigint,
       CASE WHEN r.standby THEN
           CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END
       END::float8,
       CASE WHEN NOT r.standby THEN
           (SELECT coalesce(json_object_agg(slot_name, retained), '{}')::text
            FROM (SELECT slot_name, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained
                  FROM pg_replication_slots WHERE restart_lsn IS NOT NULL
                  ORDER BY 2 DESC, 1 LIMIT ` + "%d" + `) s)
       END
FROM r, sums`

// checkpointQuery returns the checkpoint columns of statsQuery for a
// server version.
func checkpointQuery(version int) string {
	if version >= 170000 {
		// Restartpoints, which pg_stat_bgwriter counted as checkpoints,
		// have columns of their own.
		return `(SELECT num_timed + restartpoints_timed FROM pg_stat_checkpointer),
       (SELECT num_requested + restartpoints_req FROM pg_stat_checkpointer)`
	}
	return `(SELECT checkpoints_timed FROM pg_stat_bgwriter), (SELECT checkpoints_req FROM pg_stat_bgwriter)`
}

// The statement before PostgreSQL 17 and from 17 on, made once rather
// than at every read.
var (
	statsQueryBefore17 = fmt.Sprintf(statsQuery, MaxSizedDatabases, checkpointQuery(160000), MaxSlots)
	statsQueryFrom17   = fmt.Sprintf(statsQuery, MaxSizedDatabases, checkpointQuery(170000), MaxSlots)
)

// statsQueryFor is the statement for a server version.
func statsQueryFor(version int) string {
	if version >= 170000 {
		return statsQueryFrom17
	}
	return statsQueryBefore17
}

// Stats reads the instance's statistics in one statement, which names only
// views that exist in serverVersion; without it (0) the version is asked
// first, on the same connection.
func (c *client) Stats(ctx context.Context, ep Endpoint, serverVersion int) (MemberStats, error) {
	var st MemberStats
	err := c.withConn(ctx, ep, "stats", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		version := serverVersion
		if version == 0 {
			if err := conn.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
				return err
			}
		}
		q := statsQueryFor(version)
		var conns string
		var slots sql.NullString
		var longest float64
		var lag sql.NullFloat64
		// What bounds the read is the socket closed at the call's end
		// (client.run). A context database/sql and lib/pq see as never
		// cancelled spares the goroutine each starts per query to watch
		// it, a fifth of the read's CPU; a read given up leaves the
		// server its statement, which statement_timeout bounds.
		err := conn.QueryRowContext(context.WithoutCancel(ctx), q).Scan(&st.InRecovery, &st.ServerVersion, &st.MaxConnections, &conns,
			&st.XactCommit, &st.XactRollback, &st.Deadlocks, &st.DatabaseSize, &st.WALBytes,
			&st.CheckpointsTimed, &st.CheckpointsRequested, &longest, &st.OldestXminAge, &lag, &slots)
		if err != nil {
			return err
		}
		st.LongestTransaction = seconds(longest)
		if lag.Valid {
			st.ReplayLag, st.ReplayLagKnown = seconds(max(lag.Float64, 0)), true
		}
		return st.decode(conns, slots)
	})
	return st, err
}

// decode fills the columns the query returns as JSON objects.
func (st *MemberStats) decode(conns string, slots sql.NullString) error {
	var byState map[string]int64
	if err := json.Unmarshal([]byte(conns), &byState); err != nil {
		return fmt.Errorf("unexpected connection counts from server: %w", err)
	}
	st.Connections = bucketStates(byState)
	if !slots.Valid {
		return nil
	}
	if err := json.Unmarshal([]byte(slots.String), &st.SlotRetainedWAL); err != nil {
		return fmt.Errorf("unexpected slot sizes from server: %w", err)
	}
	return nil
}

// bucketStates keeps the known states and counts every other one as
// OtherState.
func bucketStates(in map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for state, n := range in {
		if !isKnownState(state) {
			state = OtherState
		}
		out[state] += n
	}
	return out
}

func isKnownState(s string) bool { return slices.Contains(ConnectionStates, s) }
