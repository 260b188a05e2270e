package postgres

import (
	"context"
	"database/sql"
	"time"
)

// Lags are read as seconds (float8) because database/sql has no interval
// type; NULL (caught up) becomes zero.
const replicationQuery = `
SELECT pid, coalesce(application_name, ''), coalesce(host(client_addr), ''),
       coalesce(state, ''), coalesce(sync_state, ''),
       sent_lsn::text, write_lsn::text, flush_lsn::text, replay_lsn::text,
       coalesce(extract(epoch FROM write_lag), 0)::float8,
       coalesce(extract(epoch FROM flush_lag), 0)::float8,
       coalesce(extract(epoch FROM replay_lag), 0)::float8
FROM pg_stat_replication
ORDER BY application_name, pid`

func (c *client) Replication(ctx context.Context, ep Endpoint) ([]ReplicaStat, error) {
	var out []ReplicaStat
	err := c.withConn(ctx, ep, "replication", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		rows, err := conn.QueryContext(ctx, replicationQuery)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanReplica(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

func scanReplica(rows *sql.Rows) (ReplicaStat, error) {
	var r ReplicaStat
	var sent, write, flush, replay sql.NullString
	var writeLag, flushLag, replayLag float64
	err := rows.Scan(&r.PID, &r.ApplicationName, &r.ClientAddr, &r.State, &r.SyncState,
		&sent, &write, &flush, &replay, &writeLag, &flushLag, &replayLag)
	if err != nil {
		return r, err
	}
	r.WriteLag, r.FlushLag, r.ReplayLag = seconds(writeLag), seconds(flushLag), seconds(replayLag)
	return r, parseLSNs(map[*LSN]sql.NullString{
		&r.SentLSN: sent, &r.WriteLSN: write, &r.FlushLSN: flush, &r.ReplayLSN: replay,
	})
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
