package postgres

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"
)

// ArchiverStatus is the WAL archiving state of a primary: PostgreSQL's own
// counters (pg_stat_archiver), its backlog, and what the archive hook
// recorded on the volume (see pkg/cluster/pgbr.sh).
type ArchiverStatus struct {
	ArchivedCount    int64
	LastArchivedWAL  string
	LastArchivedTime time.Time
	FailedCount      int64
	LastFailedWAL    string
	LastFailedTime   time.Time
	// Pending counts WAL files waiting to be archived (.ready files).
	Pending int64
	// LastError is the hook's record of the engine's last error.
	LastError string
	// Dropped counts WAL files the engine dropped at its backlog bound,
	// DroppedAt when it last did.
	Dropped   int64
	DroppedAt time.Time
}

// Failing says whether the newest archiving attempt failed.
func (a ArchiverStatus) Failing() bool {
	return !a.LastFailedTime.IsZero() && a.LastFailedTime.After(a.LastArchivedTime)
}

// Archiver reads the archiving state of the server at ep; statusDir is
// where the archive hook writes its files (read with pg_read_file, which
// needs the superuser the operator connects as).
func (c *client) Archiver(ctx context.Context, ep Endpoint, statusDir string) (ArchiverStatus, error) {
	var a ArchiverStatus
	err := c.withConn(ctx, ep, "archiver", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		var archived, failed sql.NullString
		var archivedAt, failedAt sql.NullTime
		var lastError, dropped sql.NullString
		var droppedAt sql.NullTime
		err := conn.QueryRowContext(ctx, `
SELECT archived_count, coalesce(last_archived_wal, ''), last_archived_time,
       failed_count, coalesce(last_failed_wal, ''), last_failed_time,
       (SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'),
       pg_read_file($1 || '/last-error', 0, 4096, true), pg_read_file($1 || '/dropped', 0, 64, true),
       (pg_stat_file($1 || '/dropped', true)).modification
FROM pg_stat_archiver`, statusDir).Scan(&a.ArchivedCount, &archived, &archivedAt,
			&a.FailedCount, &failed, &failedAt, &a.Pending, &lastError, &dropped, &droppedAt)
		if err != nil {
			return err
		}
		a.LastArchivedWAL, a.LastFailedWAL = archived.String, failed.String
		a.LastArchivedTime, a.LastFailedTime = archivedAt.Time, failedAt.Time
		a.LastError = strings.TrimSpace(lastError.String)
		a.Dropped, _ = strconv.ParseInt(strings.TrimSpace(dropped.String), 10, 64)
		a.DroppedAt = droppedAt.Time
		return nil
	})
	return a, err
}
