package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/lib/pq"
)

// probeQuery gathers everything Probe reports in one statement.
//
// pg_is_in_recovery() is evaluated once (the MATERIALIZED CTE) so that a
// promotion during the query cannot make the CASE branches disagree; the
// CASEs keep primary-only functions from running on a standby, where they
// raise errors.
//
// Timeline: a primary's comes from the name of its current WAL file, which
// changes the moment promotion ends; pg_control_checkpoint() would lag until
// the first checkpoint on the new timeline. A standby reports the timeline
// its WAL receiver last received, or its last restartpoint's when it is not
// streaming.
const probeQuery = `
WITH r AS MATERIALIZED (SELECT pg_is_in_recovery() AS standby)
SELECT r.standby,
       CASE WHEN NOT r.standby THEN pg_current_wal_lsn()::text END,
       CASE WHEN r.standby THEN pg_last_wal_receive_lsn()::text END,
       CASE WHEN r.standby THEN pg_last_wal_replay_lsn()::text END,
       CASE WHEN r.standby
            THEN coalesce(w.received_tli, (pg_control_checkpoint()).timeline_id)
            ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int
       END,
       (pg_control_system()).system_identifier,
       current_setting('server_version_num')::int,
       ARRAY(SELECT name FROM pg_settings WHERE pending_restart ORDER BY name),
       coalesce(w.status, ''),
       coalesce(w.sender_host, ''),
       coalesce(w.sender_port, 0),
       coalesce(w.slot_name, '')
FROM r LEFT JOIN pg_stat_wal_receiver w ON true`

func (c *client) Probe(ctx context.Context, ep Endpoint) (Status, error) {
	var st Status
	err := c.withConn(ctx, ep, "probe", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		var current, received, replayed sql.NullString
		var sysid int64 // bigint in SQL; initdb's values never use the sign bit
		err := conn.QueryRowContext(ctx, probeQuery).Scan(
			&st.InRecovery, &current, &received, &replayed, &st.Timeline,
			&sysid, &st.ServerVersion, pq.Array(&st.PendingRestart),
			&st.ReceiverStatus, &st.UpstreamHost, &st.UpstreamPort, &st.UpstreamSlot)
		if err != nil {
			return err
		}
		st.SystemIdentifier = uint64(sysid)
		return parseLSNs(map[*LSN]sql.NullString{
			&st.CurrentLSN: current, &st.ReceivedLSN: received, &st.ReplayedLSN: replayed,
		})
	})
	return st, err
}

// parseLSNs parses nullable pg_lsn text columns; NULL leaves the LSN zero.
func parseLSNs(cols map[*LSN]sql.NullString) error {
	for dst, src := range cols {
		if !src.Valid {
			continue
		}
		v, err := ParseLSN(src.String)
		if err != nil {
			return fmt.Errorf("unexpected LSN from server: %w", err)
		}
		*dst = v
	}
	return nil
}
