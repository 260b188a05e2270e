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
//
// The safety columns (SafetyStatus) come from the same round trip: the WAL
// receiver's last message and timeline; pg_control's checkpoint and minimum
// recovery point; and on a primary its timeline history file (missing_ok:
// timeline 1 has none), the oldest segment left in pg_wal and its physical
// slots' wal_status. Every function used needs superuser, as the operator
// connects.
const probeQuery = `
WITH r AS MATERIALIZED (SELECT pg_is_in_recovery() AS standby)
SELECT r.standby,
       CASE WHEN NOT r.standby THEN pg_current_wal_lsn()::text END,
       CASE WHEN r.standby THEN pg_last_wal_receive_lsn()::text END,
       CASE WHEN r.standby THEN pg_last_wal_replay_lsn()::text END,
       CASE WHEN r.standby
            THEN coalesce(w.received_tli, ck.timeline_id)
            ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int
       END,
       (pg_control_system()).system_identifier,
       current_setting('server_version_num')::int,
       ARRAY(SELECT name FROM pg_settings WHERE pending_restart ORDER BY name),
       ARRAY(` + pendingDecreaseQuery + `),
       coalesce(w.status, ''),
       coalesce(w.sender_host, ''),
       coalesce(w.sender_port, 0),
       coalesce(w.slot_name, ''),
       coalesce(w.received_tli, 0),
       CASE WHEN w.last_msg_receipt_time IS NULL THEN -1
            ELSE greatest(extract(epoch FROM now() - w.last_msg_receipt_time), 0) END::float8,
       w.latest_end_lsn::text,
       ck.timeline_id, ck.checkpoint_lsn::text,
       rc.min_recovery_end_timeline, rc.min_recovery_end_lsn::text,
       CASE WHEN NOT r.standby THEN pg_read_file('pg_wal/' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)
            || '.history', 0, ` + maxHistoryBytes + `, true) END,
       CASE WHEN NOT r.standby THEN (SELECT min(substr(name, 9, 16)) FROM pg_ls_waldir()
            WHERE name ~ '^[0-9A-F]{24}$') END,
       (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'),
       ARRAY(SELECT slot_name || '=' || coalesce(wal_status, '') FROM pg_replication_slots
            WHERE slot_type = 'physical' ORDER BY slot_name),
       current_setting('primary_conninfo')
FROM r CROSS JOIN pg_control_checkpoint() ck CROSS JOIN pg_control_recovery() rc
     LEFT JOIN pg_stat_wal_receiver w ON true`

// maxHistoryBytes bounds the timeline history read: a few dozen bytes per
// failover the cluster ever had.
const maxHistoryBytes = "1048576"

func (c *client) Probe(ctx context.Context, ep Endpoint) (Status, error) {
	var st Status
	err := c.withConn(ctx, ep, "probe", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		var raw probeRow
		var sysid int64 // bigint in SQL; initdb's values never use the sign bit
		err := conn.QueryRowContext(ctx, probeQuery).Scan(
			&st.InRecovery, &raw.current, &raw.received, &raw.replayed, &st.Timeline,
			&sysid, &st.ServerVersion, pq.Array(&st.PendingRestart), pq.Array(&st.PendingDecrease),
			&st.ReceiverStatus, &st.UpstreamHost, &st.UpstreamPort, &st.UpstreamSlot,
			&st.ReceiverTimeline, &raw.msgAge, &raw.latestEnd,
			&st.Checkpoint.Timeline, &raw.checkpoint, &st.MinRecovery.Timeline, &raw.minRecovery,
			&raw.history, &raw.oldestSegment, &raw.segmentSize, pq.Array(&raw.slots), &st.PrimaryConninfo)
		if err != nil {
			return err
		}
		st.SystemIdentifier = uint64(sysid)
		return raw.fill(&st)
	})
	return st, err
}

// probeRow holds the columns that need parsing after the scan.
type probeRow struct {
	current, received, replayed, latestEnd, checkpoint, minRecovery sql.NullString
	history, oldestSegment                                          sql.NullString
	msgAge                                                          float64
	segmentSize                                                     int64
	slots                                                           []string
}

func (raw probeRow) fill(st *Status) error {
	if err := parseLSNs(map[*LSN]sql.NullString{
		&st.CurrentLSN: raw.current, &st.ReceivedLSN: raw.received, &st.ReplayedLSN: raw.replayed,
		&st.ReceiverLatestEndLSN: raw.latestEnd, &st.Checkpoint.LSN: raw.checkpoint, &st.MinRecovery.LSN: raw.minRecovery,
	}); err != nil {
		return err
	}
	if raw.msgAge >= 0 {
		st.ReceiverHeard, st.ReceiverMessageAge = true, seconds(raw.msgAge)
	}
	if !st.InRecovery {
		st.SlotWALStatus = parseSlotStatus(raw.slots)
		st.HistoryKnown = raw.history.Valid || st.Timeline == 1 // timeline 1 has no history file
		if raw.history.Valid {
			h, err := parseHistory(raw.history.String)
			if err != nil {
				return err
			}
			st.History = h
		}
		if raw.oldestSegment.Valid {
			oldest, err := segmentStart(raw.oldestSegment.String, uint64(raw.segmentSize))
			if err != nil {
				return err
			}
			st.OldestWAL = oldest
		}
	}
	return nil
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
