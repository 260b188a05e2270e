package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrPromoteTimeout is returned when the promotion was triggered but did not
// finish within the requested wait. The server may still finish it later.
var ErrPromoteTimeout = errors.New("promotion did not finish in time")

// Promote calls pg_promote(true, wait). Failover retries it when a reconcile
// pass is interrupted, so promoting a server that is already a primary
// succeeds without doing anything; callers that need the new timeline read it
// with Probe afterwards.
func (c *client) Promote(ctx context.Context, ep Endpoint, wait time.Duration) error {
	secs := ceilSeconds(wait)
	budget := time.Duration(secs)*time.Second + c.timeouts.Statement
	return c.withConn(ctx, ep, "promote", budget, func(ctx context.Context, conn *sql.Conn) error {
		var standby bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_is_in_recovery()`).Scan(&standby); err != nil {
			return err
		}
		if !standby {
			return nil
		}
		var done bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_promote(true, $1)`, secs).Scan(&done); err != nil {
			return err
		}
		if !done {
			return fmt.Errorf("%w (waited %ds)", ErrPromoteTimeout, secs)
		}
		return nil
	})
}

func (c *client) Checkpoint(ctx context.Context, ep Endpoint) error {
	return c.withConn(ctx, ep, "checkpoint", c.timeouts.Checkpoint, func(ctx context.Context, conn *sql.Conn) error {
		_, err := conn.ExecContext(ctx, `CHECKPOINT`)
		return err
	})
}
